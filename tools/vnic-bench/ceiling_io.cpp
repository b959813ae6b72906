#include "tools/vnic-bench/ceiling_io.h"

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace vnic_bench {

blockxport::AlignedBuffer make_ceiling_block(uint32_t block_size, unsigned seed) {
  blockxport::AlignedBuffer block(block_size, 4096);
  for (size_t i = blockxport::kBlockHeaderBytes; i < block_size; ++i)
    block.data()[i] = static_cast<std::byte>((i * 131 + seed * 7 + 1) | 1);
  return block;
}

CeilingRig::CeilingRig(const CeilingConfig& config, unsigned engine_depth)
    : volume(blockxport::Volume::open(config.path, {blockxport::VolumeAccess::read_write, false})), config_(config) {
  blockxport::EngineOptions options;
  options.depth = engine_depth;
  engine = blockxport::make_io_engine(config.engine, options);
}

uint64_t CeilingRig::ring_offset(uint64_t position) const {
  const blockxport::Superblock& sb = config_.superblock;
  return sb.ring_offset(0) + (position % sb.ring_blocks) * sb.block_size;
}

void CeilingRig::check(const blockxport::IoCompletion& done, uint32_t expected, const char* what) const {
  if (done.result == static_cast<int32_t>(expected)) return;
  throw std::runtime_error(fmt::format("{}: storage ceiling {} failed: {}", config_.path, what,
                                       done.result < 0 ? std::strerror(-done.result) : "short transfer"));
}

void CeilingResult::add(const CeilingResult& other) {
  if (engine.empty()) engine = other.engine;
  writes += other.writes;
  reads += other.reads;
  bytes += other.bytes;
  bytes_written += other.bytes_written;
  bytes_read += other.bytes_read;
  seconds += other.seconds;
  write_latency.merge(other.write_latency);
}

}  // namespace vnic_bench
