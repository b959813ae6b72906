#include "tools/vnic-bench/storage_ceiling.h"

#include <array>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "blockxport/aligned_buffer.h"
#include "blockxport/volume.h"

namespace vnic_bench {
namespace {

using blockxport::Clock;
using blockxport::TimePoint;

constexpr blockxport::Nanos kReapWait{1'000'000};

// Non-zero bytes after a zero header: storage that detects zero writes (thin provisioning,
// qemu's detect-zeroes) must not get an easier job than the vnic run had.
blockxport::AlignedBuffer make_block(uint32_t block_size, unsigned seed) {
  blockxport::AlignedBuffer block(block_size, 4096);
  for (size_t i = blockxport::kBlockHeaderBytes; i < block_size; ++i)
    block.data()[i] = static_cast<std::byte>((i * 131 + seed * 7 + 1) | 1);
  return block;
}

}  // namespace

CeilingResult measure_write_ceiling(const CeilingConfig& config) {
  const blockxport::Superblock& sb = config.superblock;
  blockxport::Volume volume = blockxport::Volume::open(config.path, {blockxport::VolumeAccess::read_write, false});
  blockxport::EngineOptions engine_options;
  engine_options.depth = config.queue_depth;
  auto engine = blockxport::make_io_engine(config.engine, engine_options);

  std::vector<blockxport::AlignedBuffer> blocks;
  std::vector<TimePoint> submitted_at(config.queue_depth);
  std::vector<uint32_t> free_blocks;
  for (unsigned i = 0; i < config.queue_depth; ++i) {
    blocks.push_back(make_block(sb.block_size, i));
    free_blocks.push_back(config.queue_depth - 1 - i);
  }

  CeilingResult result;
  result.engine = std::string(engine->name());
  std::vector<blockxport::IoRequest> batch(config.queue_depth);
  std::array<blockxport::IoCompletion, 64> done;
  uint64_t next_block = 0;
  TimePoint start = Clock::now();
  TimePoint stop_at = start + config.duration;
  TimePoint last_completion = start;
  TimePoint now = start;
  while (now < stop_at || engine->in_flight() > 0) {
    // Every free buffer goes out in one submission, as the writer batches its sealed blocks.
    size_t count = 0;
    if (now < stop_at) {
      for (uint32_t index : free_blocks) {
        uint64_t offset = sb.ring_offset(0) + (next_block++ % sb.ring_blocks) * sb.block_size;
        batch[count++] = blockxport::IoRequest{blockxport::IoOp::write, volume.fd(), blocks[index].data(),
                                               sb.block_size,           offset,      index};
        submitted_at[index] = now;
      }
    }
    if (count > 0) {
      size_t accepted = engine->submit(std::span<const blockxport::IoRequest>(batch.data(), count));
      free_blocks.erase(free_blocks.begin(), free_blocks.begin() + static_cast<std::ptrdiff_t>(accepted));
      next_block -= count - accepted;
    }
    size_t n = engine->reap(done, kReapWait);
    now = Clock::now();
    for (size_t i = 0; i < n; ++i) {
      auto index = static_cast<uint32_t>(done[i].tag);
      if (done[i].result != static_cast<int32_t>(sb.block_size)) {
        throw std::runtime_error(fmt::format("{}: storage ceiling write failed: {}", config.path,
                                             done[i].result < 0 ? std::strerror(-done[i].result) : "short write"));
      }
      ++result.writes;
      result.bytes += sb.block_size;
      result.write_latency.record(blockxport::ns_between(submitted_at[index], now));
      free_blocks.push_back(index);
      last_completion = now;
    }
  }
  result.seconds = std::chrono::duration<double>(last_completion - start).count();
  return result;
}

}  // namespace vnic_bench
