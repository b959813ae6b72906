// The loopback ("rw") ceiling: the writer's sequential block writes and, at the same time, reads
// of every block whose write has completed, in order, as large and as deep as the reader may
// issue. No checksums, no frames, no flow-control records: only the device's share of the work.
#include <algorithm>
#include <vector>

#include "tools/vnic-bench/ceiling_io.h"
#include "tools/vnic-bench/storage_ceiling.h"

namespace vnic_bench {

using blockxport::IoOp;
using blockxport::IoRequest;
using blockxport::TimePoint;

namespace {

constexpr uint64_t kWriteTag = uint64_t{1} << 32;

}  // namespace

CeilingResult measure_loopback_ceiling(const CeilingConfig& config) {
  const blockxport::Superblock& sb = config.superblock;
  const uint64_t ring = sb.ring_blocks;
  const uint32_t blocks_per_read = std::max<uint32_t>(1, config.max_read_bytes / sb.block_size);
  const unsigned read_slots = std::max(1u, config.read_depth);
  CeilingRig rig(config, config.queue_depth + read_slots);

  std::vector<blockxport::AlignedBuffer> blocks;
  std::vector<uint32_t> free_writes;
  std::vector<uint64_t> write_position(config.queue_depth);
  std::vector<TimePoint> submitted_at(config.queue_depth);
  for (unsigned i = 0; i < config.queue_depth; ++i) {
    blocks.push_back(make_ceiling_block(sb.block_size, i));
    free_writes.push_back(config.queue_depth - 1 - i);
  }
  blockxport::AlignedBuffer read_memory(size_t{read_slots} * blocks_per_read * sb.block_size, 4096);
  std::vector<uint32_t> free_reads;
  for (unsigned i = 0; i < read_slots; ++i) free_reads.push_back(read_slots - 1 - i);
  std::vector<uint32_t> read_blocks(read_slots);
  std::vector<uint8_t> written(ring, 0);  // by ring position: its write completed, not read back yet

  CeilingResult result;
  std::vector<IoRequest> batch(config.queue_depth + read_slots);
  uint64_t next_write = 0;  // positions count up forever; the ring position is this mod ring
  uint64_t durable = 0;     // every position below has been written
  uint64_t next_read = 0;   // every position below has been read (or is being read)
  unsigned blocks_reading = 0;
  auto submit_more = [&](TimePoint now) {
    size_t count = 0;
    // Writes never lap a block that has not been read back.
    while (!free_writes.empty() && next_write < next_read + ring - config.queue_depth) {
      uint32_t index = free_writes.back();
      free_writes.pop_back();
      write_position[index] = next_write;
      submitted_at[index] = now;
      batch[count++] = IoRequest{
          IoOp::write,      rig.volume.fd(), blocks[index].data(), sb.block_size, rig.ring_offset(next_write++),
          kWriteTag | index};
    }
    while (!free_reads.empty() && next_read < durable && blocks_reading < read_slots) {
      uint64_t run = std::min<uint64_t>(
          {blocks_per_read, durable - next_read, ring - next_read % ring, read_slots - blocks_reading});
      uint32_t slot = free_reads.back();
      free_reads.pop_back();
      read_blocks[slot] = static_cast<uint32_t>(run);
      blocks_reading += read_blocks[slot];
      batch[count++] = IoRequest{IoOp::read,
                                 rig.volume.fd(),
                                 read_memory.data() + size_t{slot} * blocks_per_read * sb.block_size,
                                 static_cast<uint32_t>(run * sb.block_size),
                                 rig.ring_offset(next_read),
                                 slot};
      next_read += run;
    }
    if (count > 0) rig.engine->submit(std::span<const IoRequest>(batch.data(), count));
  };
  auto take = [&](const blockxport::IoCompletion& done, TimePoint now) {
    auto index = static_cast<uint32_t>(done.tag);
    if (done.tag & kWriteTag) {
      rig.check(done, sb.block_size, "write");
      ++result.writes;
      result.bytes_written += sb.block_size;
      result.write_latency.record(blockxport::ns_between(submitted_at[index], now));
      written[write_position[index] % ring] = 1;
      free_writes.push_back(index);
      // Writes complete out of order; reads follow only the prefix that is complete.
      while (durable < next_write && written[durable % ring]) written[durable++ % ring] = 0;
    } else {
      uint32_t bytes = read_blocks[index] * sb.block_size;
      rig.check(done, bytes, "read");
      ++result.reads;
      result.bytes_read += bytes;
      blocks_reading -= read_blocks[index];
      free_reads.push_back(index);
    }
  };
  rig.drive(config.duration, result, submit_more, take);
  result.bytes = result.bytes_read;
  return result;
}

}  // namespace vnic_bench
