// The receiving end of a benchmark: checks every delivered frame (length, pattern, sequence order)
// and records its end-to-end latency.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "blockxport/clock.h"
#include "blockxport/latency_histogram.h"
#include "blockxport/reader.h"
#include "tools/vnic-bench/frame_pattern.h"

namespace vnic_bench {

struct FrameCheckStats {
  uint64_t delivered = 0;      // every frame handed to the sink, good or bad
  uint64_t unique = 0;         // distinct valid sequences seen
  uint64_t payload_bytes = 0;  // of the valid frames
  uint64_t corrupt = 0;        // wrong length, impossible sequence or damaged pattern
  uint64_t duplicates = 0;     // a sequence seen before
  uint64_t reorders = 0;       // a sequence older than one already seen, but new
  uint64_t gaps = 0;           // places where the sequence jumped forward
  uint64_t skipped = 0;        // sequences jumped over at those places (still missing or late)
};

class CheckingSink final : public blockxport::FrameSink {
 public:
  explicit CheckingSink(const FramePattern& pattern) : pattern_(pattern) {}

  // Sequences below `count` have been handed to the link; anything else arriving is corrupt.
  void expect_up_to(uint64_t count);

  void deliver(std::span<const blockxport::FrameSpan> frames, const blockxport::BlockHeader& block) override;

  const FrameCheckStats& stats() const { return stats_; }
  const blockxport::LatencyHistogram& latency() const { return latency_; }
  blockxport::TimePoint last_delivery() const { return last_delivery_; }

 private:
  void check(blockxport::FrameSpan frame, uint64_t now_ns);

  const FramePattern& pattern_;
  uint64_t generated_ = 0;
  uint64_t next_expected_ = 0;
  std::vector<uint64_t> seen_;  // one bit per sequence
  FrameCheckStats stats_;
  blockxport::LatencyHistogram latency_;
  blockxport::TimePoint last_delivery_{};
};

}  // namespace vnic_bench
