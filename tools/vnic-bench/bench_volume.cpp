#include "tools/vnic-bench/bench_volume.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include <fmt/format.h>

#include "blockxport/aligned_buffer.h"
#include "blockxport/volume.h"
#include "blockxport/volume_check.h"
#include "blockxport/volume_format.h"
#include "tools/common/size_parse.h"

namespace vnic_bench {
namespace {

using blockxport::Volume;

constexpr uint64_t kGuardBytes = 1 << 20;  // format_volume's own rule: data here is someone's

// format_volume refuses such a volume too, but tells the user about vnicctl's --force; saying
// it here names the flag of this tool.
bool first_mib_is_zero(const Volume& volume) {
  uint64_t length = std::min<uint64_t>(kGuardBytes, volume.size_bytes()) / 4096 * 4096;
  if (length == 0) return true;
  blockxport::AlignedBuffer buffer(length, 4096);
  volume.read_exact(buffer.data(), length, 0);
  return std::all_of(buffer.data(), buffer.data() + length, [](std::byte b) { return b == std::byte{0}; });
}

}  // namespace

BenchVolume prepare_bench_volume(const std::string& path, std::optional<uint32_t> block_size, bool force_format) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    throw std::runtime_error(
        fmt::format("{}: no such file (create it first, e.g. vnicctl format {} --size 256M "
                    "--block-size 64K)",
                    path, path));
  }
  blockxport::FormatOptions options;
  options.block_size = block_size.value_or(kDefaultBlockSize);
  options.force = force_format;
  if (!force_format) {
    Volume volume = Volume::open(path, {blockxport::VolumeAccess::read_only, false});
    auto probe = blockxport::probe_formatted_superblock(volume);
    if (probe.superblock) {
      if (!block_size || *block_size == probe.superblock->block_size) return {*probe.superblock, false};
      throw std::runtime_error(fmt::format(
          "{}: formatted with {} blocks, not the {} asked for; pass --format to "
          "re-format it (its contents are lost)",
          path, vnic_tools::format_size(probe.superblock->block_size), vnic_tools::format_size(*block_size)));
    }
    if (!probe.unformatted) throw std::runtime_error(probe.problem + "; pass --format to overwrite it");
    if (!first_mib_is_zero(volume))
      throw std::runtime_error(
          fmt::format("{}: not a vnic volume and holds data in its first MiB; pass --format "
                      "to overwrite it",
                      path));
  }
  return {blockxport::format_volume(path, options), true};
}

}  // namespace vnic_bench
