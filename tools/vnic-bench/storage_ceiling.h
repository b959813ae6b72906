// What the storage itself can do with the vnic run's block size, queue depths and engine, over
// the ring area of slot 0, wrapping around:
//  - write: plain sequential O_DIRECT block writes (the baseline of ratio_to_ceiling);
//  - read: plain sequential reads, as large and as many in flight as the reader may issue;
//  - loopback ("rw"): both at once, each block read back once its write completed. A loopback
//    link must write and read every byte on the same device, so this is the most any loopback
//    transport could deliver with these depths, whatever its own costs.
// The vnic figure divided by one of these says how much of that the transport turns into
// delivered frames.
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
  unsigned queue_depth = 8;              // block writes in flight
  unsigned read_depth = 32;              // blocks being read at once, at most
  uint32_t max_read_bytes = 256 * 1024;  // one read's size, at most
  blockxport::Nanos duration{5'000'000'000};
};

struct CeilingResult {
  std::string engine;
  uint64_t writes = 0;
  uint64_t reads = 0;
  uint64_t bytes = 0;  // the figure: written (write), read (read), read back (loopback)
  uint64_t bytes_written = 0;
  uint64_t bytes_read = 0;
  double seconds = 0;  // first submission to last completion
  blockxport::LatencyHistogram write_latency;

  double bytes_per_second() const { return seconds > 0 ? static_cast<double>(bytes) / seconds : 0.0; }
  // Sums another run of the same kind into this one.
  void add(const CeilingResult& other);
};

// Each leaves slot 0's ring holding only blocks whose header is all zeros (or untouched), which a
// reader takes for "never written", so a link that resumes afterwards sees no stale traffic.
// Each throws on any failed I/O.
CeilingResult measure_write_ceiling(const CeilingConfig& config);
CeilingResult measure_read_ceiling(const CeilingConfig& config);
CeilingResult measure_loopback_ceiling(const CeilingConfig& config);

}  // namespace vnic_bench
