// vnicctl format: writes a fresh vnic format onto a file or block device.
#include <sys/stat.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "blockxport/format.h"
#include "blockxport/volume_format.h"
#include "tools/common/number_parse.h"
#include "tools/common/size_parse.h"
#include "tools/vnicctl/commands.h"
#include "tools/vnicctl/volume_size.h"

namespace vnicctl {
namespace {

struct FormatArgs {
  std::string volume;
  std::string block_size;
  std::string slots = "1";
  std::string ring_blocks;  // empty: fill the volume
  std::string label;
  std::string size;  // empty: use the volume as it is
  bool force = false;
};

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Everything about the command line is checked before the volume is touched, so a mistake there
// can never leave a created or grown file behind.
blockxport::FormatOptions options_from(const FormatArgs& args) {
  using vnic_tools::parse_count;
  blockxport::FormatOptions options;
  uint64_t block_size = vnic_tools::parse_size_option("--block-size", args.block_size, 0, UINT64_MAX);
  if (!is_power_of_two(block_size) || block_size < blockxport::kMinBlockSize ||
      block_size > blockxport::kMaxBlockSize) {
    throw vnic_tools::UsageError(fmt::format("--block-size {}: not a power of two between {} and {}", args.block_size,
                                             vnic_tools::format_size(blockxport::kMinBlockSize),
                                             vnic_tools::format_size(blockxport::kMaxBlockSize)));
  }
  options.block_size = static_cast<uint32_t>(block_size);
  options.slots = static_cast<uint32_t>(parse_count("--slots", args.slots, 1, blockxport::kMaxSlots));
  if (!args.ring_blocks.empty())
    options.ring_blocks = parse_count("--ring-blocks", args.ring_blocks, blockxport::kMinRingBlocks, uint64_t{1} << 40);
  if (args.label.size() >= blockxport::kLabelBytes) {
    throw vnic_tools::UsageError(
        fmt::format("--label is {} bytes long; at most {} fit", args.label.size(), blockxport::kLabelBytes - 1));
  }
  options.label = args.label;
  options.force = args.force;
  return options;
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 || errno != ENOENT;
}

int run_format(const FormatArgs& args) {
  blockxport::FormatOptions options;
  std::optional<uint64_t> size;
  try {
    options = options_from(args);
    if (!args.size.empty()) size = vnic_tools::parse_size_option("--size", args.size, 1, UINT64_MAX);
  } catch (const vnic_tools::UsageError& error) {
    throw vnic_tools::UsageError(fmt::format("{}: {}", args.volume, error.what()));
  }
  if (!size && !path_exists(args.volume))
    throw std::runtime_error(fmt::format("{}: no such file (pass --size SIZE to create it)", args.volume));

  std::optional<VolumeSizeChange> size_change;
  if (size) size_change.emplace(VolumeSizeChange::ensure(args.volume, *size));
  // format_volume checks everything before writing; if it refuses, size_change's destructor puts
  // the file back as it was.
  blockxport::Superblock sb = blockxport::format_volume(args.volume, options);
  if (size_change) size_change->keep();

  uint64_t ring_bytes = sb.ring_blocks * sb.block_size;
  fmt::print("formatted {}: uuid {}, block size {}, {} slot{}, {} ring blocks per slot ({} bytes, {} per slot){}\n",
             args.volume, blockxport::format_uuid(sb.uuid), vnic_tools::format_size(sb.block_size), sb.slot_count,
             sb.slot_count == 1 ? "" : "s", sb.ring_blocks, ring_bytes, vnic_tools::format_size(ring_bytes),
             sb.label.empty() ? std::string() : fmt::format(", label '{}'", sb.label));
  return 0;
}

}  // namespace

vnic_tools::Subcommand add_format_command(CLI::App& app) {
  auto args = std::make_shared<FormatArgs>();
  CLI::App* cmd =
      app.add_subcommand("format", "Write a fresh vnic format (superblock, state table, rings) onto VOLUME.");
  cmd->add_option("VOLUME", args->volume, "Regular file or block device to format")->required();
  cmd->add_option("--block-size", args->block_size, "Ring block size: a power of two from 4K to 1M (e.g. 64K)")
      ->required()
      ->type_name("SIZE");
  cmd->add_option("--slots", args->slots, "Writer slots, one ring each (1-64; default 1)")->type_name("N");
  cmd->add_option("--ring-blocks", args->ring_blocks, "Blocks per ring (default: the rings fill the volume)")
      ->type_name("N");
  cmd->add_option("--label", args->label, "Free text stored in the superblock (up to 63 bytes)")->type_name("TEXT");
  cmd->add_option("--size", args->size,
                  "Create VOLUME if missing, or grow a smaller regular file, to SIZE bytes first "
                  "(never shrinks; not for block devices; undone if the format fails)")
      ->type_name("SIZE");
  cmd->add_flag("--force", args->force,
                "Overwrite a volume that holds a vnic superblock or any non-zero byte in its first MiB");
  cmd->footer(
      "Prints one summary line. Without --force, a volume with a vnic superblock or data in its first MiB "
      "is refused and left untouched.");
  return {cmd, [args] { return run_format(*args); }};
}

}  // namespace vnicctl
