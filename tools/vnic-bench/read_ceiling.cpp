// The read ceiling: sequential reads over slot 0's ring, each as large as the reader's largest
// and as many blocks in flight as its window, so it is the most the reader could ever get.
#include <algorithm>
#include <vector>

#include "tools/vnic-bench/ceiling_io.h"
#include "tools/vnic-bench/storage_ceiling.h"

namespace vnic_bench {

using blockxport::TimePoint;

CeilingResult measure_read_ceiling(const CeilingConfig& config) {
  const blockxport::Superblock& sb = config.superblock;
  const uint32_t blocks_per_read = std::max<uint32_t>(1, config.max_read_bytes / sb.block_size);
  const unsigned slots = std::max(1u, config.read_depth / blocks_per_read);
  CeilingRig rig(config, slots);
  blockxport::AlignedBuffer memory(size_t{slots} * blocks_per_read * sb.block_size, 4096);
  std::vector<uint32_t> free_slots;
  for (unsigned i = 0; i < slots; ++i) free_slots.push_back(slots - 1 - i);
  std::vector<uint32_t> requested(slots);

  CeilingResult result;
  std::vector<blockxport::IoRequest> batch(slots);
  uint64_t position = 0;
  auto submit_more = [&](TimePoint) {
    size_t count = 0;
    while (!free_slots.empty()) {
      uint32_t slot = free_slots.back();
      free_slots.pop_back();
      // A read ends at the end of the ring, where the next one starts over at its beginning.
      uint64_t blocks = std::min<uint64_t>(blocks_per_read, sb.ring_blocks - position % sb.ring_blocks);
      requested[slot] = static_cast<uint32_t>(blocks * sb.block_size);
      batch[count++] = blockxport::IoRequest{blockxport::IoOp::read,
                                             rig.volume.fd(),
                                             memory.data() + size_t{slot} * blocks_per_read * sb.block_size,
                                             requested[slot],
                                             rig.ring_offset(position),
                                             slot};
      position += blocks;
    }
    if (count > 0) rig.engine->submit(std::span<const blockxport::IoRequest>(batch.data(), count));
  };
  auto take = [&](const blockxport::IoCompletion& done, TimePoint) {
    auto slot = static_cast<uint32_t>(done.tag);
    rig.check(done, requested[slot], "read");
    ++result.reads;
    result.bytes_read += requested[slot];
    free_slots.push_back(slot);
  };
  rig.drive(config.duration, result, submit_more, take);
  result.bytes = result.bytes_read;
  return result;
}

}  // namespace vnic_bench
