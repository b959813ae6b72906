// What the storage itself can take: plain sequential O_DIRECT block writes over the ring area of
// slot 0, wrapping around, with the vnic run's block size, queue depth and engine. The vnic
// figure divided by this one says how much of the volume's write bandwidth the transport turns
// into delivered frames.
#pragma once

#include <cstdint>
#include <string>

#include "blockxport/clock.h"
#include "blockxport/format.h"
#include "blockxport/io_engine.h"
#include "blockxport/latency_histogram.h"

namespace vnic_bench {

struct CeilingConfig {
  std::string path;
  blockxport::Superblock superblock;  // where slot 0's ring lies, and the block size
  blockxport::EngineKind engine = blockxport::EngineKind::automatic;
  unsigned queue_depth = 8;
  blockxport::Nanos duration{5'000'000'000};
};

struct CeilingResult {
  std::string engine;
  uint64_t writes = 0;
  uint64_t bytes = 0;
  double seconds = 0;  // first submission to last completion
  blockxport::LatencyHistogram write_latency;

  double bytes_per_second() const { return seconds > 0 ? static_cast<double>(bytes) / seconds : 0.0; }
};

// Leaves slot 0's ring holding blocks whose header is all zeros, which a reader takes for "never
// written", so a link started afterwards sees no stale traffic. Throws on any failed write.
CeilingResult measure_write_ceiling(const CeilingConfig& config);

}  // namespace vnic_bench
