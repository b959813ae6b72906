// What the three storage ceilings share: the volume and engine they run on, and the blocks they
// write.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "blockxport/aligned_buffer.h"
#include "blockxport/io_engine.h"
#include "blockxport/volume.h"
#include "tools/vnic-bench/storage_ceiling.h"

namespace vnic_bench {

inline constexpr blockxport::Nanos kCeilingReapWait{1'000'000};

// Non-zero bytes after a zero header: storage that detects zero writes (thin provisioning,
// qemu's detect-zeroes) must not get an easier job than the vnic run had, and a reader that
// finds such a block takes it for one never written.
blockxport::AlignedBuffer make_ceiling_block(uint32_t block_size, unsigned seed);

struct CeilingRig {
  explicit CeilingRig(const CeilingConfig& config, unsigned engine_depth);

  blockxport::Volume volume;
  std::unique_ptr<blockxport::IoEngine> engine;

  uint64_t ring_offset(uint64_t position) const;
  // Throws naming the volume when a request did not transfer all it asked for.
  void check(const blockxport::IoCompletion& done, uint32_t expected, const char* what) const;

 private:
  const CeilingConfig& config_;
};

}  // namespace vnic_bench
