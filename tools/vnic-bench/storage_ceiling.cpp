// The write ceiling: every free buffer goes out in one submission, as the writer batches its
// sealed blocks, sequentially over slot 0's ring.
#include <array>
#include <vector>

#include "tools/vnic-bench/ceiling_io.h"
#include "tools/vnic-bench/storage_ceiling.h"

namespace vnic_bench {

using blockxport::Clock;
using blockxport::TimePoint;

CeilingResult measure_write_ceiling(const CeilingConfig& config) {
  const uint32_t block_size = config.superblock.block_size;
  CeilingRig rig(config, config.queue_depth);
  std::vector<blockxport::AlignedBuffer> blocks;
  std::vector<TimePoint> submitted_at(config.queue_depth);
  std::vector<uint32_t> free_blocks;
  for (unsigned i = 0; i < config.queue_depth; ++i) {
    blocks.push_back(make_ceiling_block(block_size, i));
    free_blocks.push_back(config.queue_depth - 1 - i);
  }

  CeilingResult result;
  result.engine = std::string(rig.engine->name());
  std::vector<blockxport::IoRequest> batch(config.queue_depth);
  std::array<blockxport::IoCompletion, 64> done;
  uint64_t next_block = 0;
  TimePoint start = Clock::now();
  TimePoint stop_at = start + config.duration;
  TimePoint last_completion = start;
  TimePoint now = start;
  while (now < stop_at || rig.engine->in_flight() > 0) {
    size_t count = 0;
    if (now < stop_at) {
      for (uint32_t index : free_blocks) {
        batch[count++] = blockxport::IoRequest{blockxport::IoOp::write,       rig.volume.fd(),
                                               blocks[index].data(),          block_size,
                                               rig.ring_offset(next_block++), index};
        submitted_at[index] = now;
      }
    }
    if (count > 0) {
      size_t accepted = rig.engine->submit(std::span<const blockxport::IoRequest>(batch.data(), count));
      free_blocks.erase(free_blocks.begin(), free_blocks.begin() + static_cast<std::ptrdiff_t>(accepted));
      next_block -= count - accepted;
    }
    size_t n = rig.engine->reap(done, kCeilingReapWait);
    now = Clock::now();
    for (size_t i = 0; i < n; ++i) {
      auto index = static_cast<uint32_t>(done[i].tag);
      rig.check(done[i], block_size, "write");
      ++result.writes;
      result.bytes_written += block_size;
      result.write_latency.record(blockxport::ns_between(submitted_at[index], now));
      free_blocks.push_back(index);
      last_completion = now;
    }
  }
  result.bytes = result.bytes_written;
  result.seconds = std::chrono::duration<double>(last_completion - start).count();
  return result;
}

}  // namespace vnic_bench
