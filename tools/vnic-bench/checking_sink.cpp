#include "tools/vnic-bench/checking_sink.h"

namespace vnic_bench {

void CheckingSink::expect_up_to(uint64_t count) {
  generated_ = count;
  if (seen_.size() * 64 < count) seen_.resize((count + 63) / 64 * 2);  // doubling: amortised growth
}

void CheckingSink::deliver(std::span<const blockxport::FrameSpan> frames, const blockxport::BlockHeader& /*block*/) {
  // One clock read per block: its frames arrive together, and a read per frame would cost more
  // than the check itself at small frame sizes.
  last_delivery_ = blockxport::Clock::now();
  uint64_t now_ns = blockxport::to_ns(last_delivery_);
  for (const blockxport::FrameSpan& frame : frames) check(frame, now_ns);
}

void CheckingSink::check(blockxport::FrameSpan frame, uint64_t now_ns) {
  ++stats_.delivered;
  if (frame.size() != pattern_.frame_size()) {
    ++stats_.corrupt;
    return;
  }
  uint64_t sequence = FramePattern::sequence_of(frame);
  if (sequence >= generated_ || !pattern_.pattern_intact(frame, sequence)) {
    ++stats_.corrupt;
    return;
  }
  uint64_t& word = seen_[sequence / 64];
  uint64_t bit = uint64_t{1} << (sequence % 64);
  if (word & bit) {
    ++stats_.duplicates;
    return;
  }
  word |= bit;
  ++stats_.unique;
  stats_.payload_bytes += frame.size();
  if (sequence < next_expected_) {
    ++stats_.reorders;
  } else {
    if (sequence > next_expected_) {
      ++stats_.gaps;
      stats_.skipped += sequence - next_expected_;
    }
    next_expected_ = sequence + 1;
  }
  uint64_t sent_ns = FramePattern::send_ns_of(frame);
  latency_.record(now_ns > sent_ns ? now_ns - sent_ns : 0);
}

}  // namespace vnic_bench
