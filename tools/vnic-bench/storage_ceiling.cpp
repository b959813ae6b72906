// The write ceiling: every free buffer goes out in one submission, as the writer batches its
// sealed blocks, sequentially over slot 0's ring.
#include <vector>

#include "tools/vnic-bench/ceiling_io.h"
#include "tools/vnic-bench/storage_ceiling.h"

namespace vnic_bench {

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
  std::vector<blockxport::IoRequest> batch(config.queue_depth);
  uint64_t next_block = 0;
  auto submit_more = [&](TimePoint now) {
    size_t count = 0;
    for (uint32_t index : free_blocks) {
      batch[count++] = blockxport::IoRequest{blockxport::IoOp::write,       rig.volume.fd(),
                                             blocks[index].data(),          block_size,
                                             rig.ring_offset(next_block++), index};
      submitted_at[index] = now;
    }
    if (count == 0) return;
    size_t accepted = rig.engine->submit(std::span<const blockxport::IoRequest>(batch.data(), count));
    free_blocks.erase(free_blocks.begin(), free_blocks.begin() + static_cast<std::ptrdiff_t>(accepted));
    next_block -= count - accepted;
  };
  auto take = [&](const blockxport::IoCompletion& done, TimePoint now) {
    auto index = static_cast<uint32_t>(done.tag);
    rig.check(done, block_size, "write");
    ++result.writes;
    result.bytes_written += block_size;
    result.write_latency.record(blockxport::ns_between(submitted_at[index], now));
    free_blocks.push_back(index);
  };
  rig.drive(config.duration, result, submit_more, take);
  result.bytes = result.bytes_written;
  return result;
}

}  // namespace vnic_bench
