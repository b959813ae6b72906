#include "tools/vnic-bench/storage_floor.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "blockxport/aligned_buffer.h"
#include "blockxport/volume.h"
#include "tools/vnic-bench/lab_env.h"
#include "tools/vnic-bench/rtt_histogram.h"
#include "tools/vnic-bench/rtt_summary.h"
#include "tools/vnic-bench/stop_signal.h"

namespace vnic_bench {
namespace {

using std::chrono::steady_clock;

constexpr uint32_t kBlock = 4096;
// 8 MiB: 2000 blocks fit without reuse, so no read comes from a block the device just cached.
constexpr uint64_t kScratchBytes = 8 << 20;

// The scratch file, fully written first: writes into holes or unwritten extents would cost the
// filesystem extra work that the lab's pre-formatted volumes do not.
class ScratchFile {
 public:
  explicit ScratchFile(std::string path) : path_(std::move(path)) {
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error(fmt::format("{}: {}", path_, std::strerror(errno)));
    std::vector<char> chunk(1 << 20);
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>(i * 131 + 7);
    bool ok = true;
    for (uint64_t done = 0; ok && done < kScratchBytes; done += chunk.size())
      ok = ::write(fd, chunk.data(), chunk.size()) == static_cast<ssize_t>(chunk.size());
    ok = ok && ::fsync(fd) == 0;
    int error = errno;
    ::close(fd);
    if (!ok) {
      ::unlink(path_.c_str());
      throw std::runtime_error(fmt::format("{}: cannot write the scratch file: {}", path_, std::strerror(error)));
    }
  }
  ~ScratchFile() { ::unlink(path_.c_str()); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class LoopDevice {
 public:
  explicit LoopDevice(const std::string& file) {
    vnic_tools::CapturedRun run = run_checked({"losetup", "--find", "--show", "--direct-io=on", file}, "losetup " + file);
    device_ = vnic_tools::last_line(run.out);
  }
  ~LoopDevice() { run_teardown({"losetup", "--detach", device_}, "losetup --detach " + device_); }
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;
  const std::string& device() const { return device_; }

 private:
  std::string device_;
};

// One request at queue depth 1: submit, wait for its completion, check it moved every byte.
void one_io(blockxport::IoEngine& engine, const blockxport::IoRequest& request, const std::string& path) {
  if (engine.submit({&request, 1}) != 1)
    throw std::runtime_error(fmt::format("{}: the engine refused a request", path));
  blockxport::IoCompletion done{};
  while (engine.reap({&done, 1}, std::chrono::seconds(1)) == 0) throw_if_stopped();
  if (done.result != static_cast<int32_t>(request.length))
    throw std::runtime_error(fmt::format("{}: storage floor {} failed: {}", path,
                                         request.op == blockxport::IoOp::write ? "write" : "read",
                                         done.result < 0 ? std::strerror(-done.result) : "short transfer"));
}

uint64_t ns_between(steady_clock::time_point a, steady_clock::time_point b) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

}  // namespace

nlohmann::ordered_json measure_storage_floor(const FloorPlan& plan) {
  ScratchFile scratch(plan.dir + "/storage-floor.scratch");
  std::optional<LoopDevice> loop;
  if (plan.loop) loop.emplace(scratch.path());
  std::string path = loop ? loop->device() : scratch.path();

  auto volume = blockxport::Volume::open(path, {blockxport::VolumeAccess::read_write, false});
  blockxport::EngineOptions options;
  options.depth = 1;
  auto engine = blockxport::make_io_engine(plan.engine, options);
  blockxport::AlignedBuffer out(kBlock, kBlock);
  blockxport::AlignedBuffer in(kBlock, kBlock);
  std::memset(out.data(), 0x5a, kBlock);

  std::vector<uint64_t> write_read, writes, reads;
  RttHistogram histogram;
  auto end = steady_clock::now() + plan.max_time;
  for (uint64_t i = 0; i < plan.iterations && steady_clock::now() < end; ++i) {
    throw_if_stopped();
    uint64_t offset = i % (kScratchBytes / kBlock) * kBlock;
    std::memcpy(out.data(), &i, sizeof(i));  // every write different, as every vnic block is
    auto t0 = steady_clock::now();
    one_io(*engine, {blockxport::IoOp::write, volume.fd(), out.data(), kBlock, offset, 1}, path);
    auto t1 = steady_clock::now();
    one_io(*engine, {blockxport::IoOp::read, volume.fd(), in.data(), kBlock, offset, 2}, path);
    auto t2 = steady_clock::now();
    writes.push_back(ns_between(t0, t1));
    reads.push_back(ns_between(t1, t2));
    write_read.push_back(ns_between(t0, t2));
    histogram.record(write_read.back());
  }
  std::string backing =
      loop ? fmt::format("loop device (direct I/O) over a file in {}: {}", plan.dir, volume.backing_description())
           : volume.backing_description();
  return {{"backing", backing},
          {"path", path},
          {"engine", std::string(engine->name())},
          {"block_bytes", kBlock},
          {"queue_depth", 1},
          {"write_read", to_json(summarize_rtt(write_read, 0))},
          {"write", to_json(summarize_rtt(writes, 0))},
          {"read", to_json(summarize_rtt(reads, 0))},
          {"histogram", histogram.to_json()}};
}

}  // namespace vnic_bench
