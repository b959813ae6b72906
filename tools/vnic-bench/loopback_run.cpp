#include "tools/vnic-bench/loopback_run.h"

#include <stdexcept>
#include <vector>

#include <fmt/format.h>

namespace vnic_bench {
namespace {

using blockxport::Clock;
using blockxport::Nanos;
using blockxport::TimePoint;

constexpr Nanos kBackpressureWait{50'000};
constexpr Nanos kDrainWait{1'000'000};
constexpr Nanos kAttachTimeout{2'000'000'000};
// The link sits still while the ceilings run between slices: it must not take its own silence
// for the death of its peer (itself), which would lift flow control.
constexpr Nanos kBenchDeadAfter{std::chrono::hours(1)};

double seconds_between(TimePoint from, TimePoint to) { return std::chrono::duration<double>(to - from).count(); }

// Everything the writer took is on the volume and the reader has consumed up to it.
bool everything_read_back(const blockxport::Link& link) {
  const blockxport::BlockWriter& writer = link.writer();
  return writer.idle() && link.reader() != nullptr && link.reader()->next_sequence() >= writer.next_sequence();
}

}  // namespace

// A batch of frames offered to Link::send until all of it is taken.
class LoopbackSession::FrameBatch {
 public:
  FrameBatch(const FramePattern& pattern, size_t capacity)
      : pattern_(pattern), bytes_(capacity * pattern.frame_size()), spans_(capacity) {}

  bool empty() const { return offered_ == size_; }
  void refill(uint64_t first_sequence, size_t count, uint64_t send_ns) {
    size_t frame = pattern_.frame_size();
    for (size_t i = 0; i < count; ++i) {
      std::span<std::byte> bytes(bytes_.data() + i * frame, frame);
      pattern_.fill(bytes, first_sequence + i, send_ns);
      spans_[i] = bytes;
    }
    size_ = count;
    offered_ = 0;
  }
  std::span<const blockxport::FrameSpan> remaining() const {
    return std::span<const blockxport::FrameSpan>(spans_).subspan(offered_, size_ - offered_);
  }
  void taken(size_t count) { offered_ += count; }

 private:
  const FramePattern& pattern_;
  std::vector<std::byte> bytes_;
  std::vector<blockxport::FrameSpan> spans_;
  size_t size_ = 0;
  size_t offered_ = 0;
};

LoopbackSession::LoopbackSession(const LoopbackConfig& config)
    : config_(config), pattern_(config.frame_size), sink_(pattern_) {
  blockxport::LinkOptions options;
  options.send_path = config.path;
  options.recv_path = config.path;
  options.send_slot = 0;
  options.peer_slot = 0;
  options.allow_loopback = true;
  options.engine = config.engine;
  options.fixed_buffers = config.fixed_buffers;
  options.writer.queue_depth = config.queue_depth;
  options.reader.depth = config.read_depth;
  options.reader.max_read_bytes = config.max_read_bytes;
  options.dead_after = kBenchDeadAfter;
  link_ = blockxport::Link::open(options);
  batch_ = std::make_unique<FrameBatch>(pattern_, config.batch_frames);

  // The reader starts at the head it finds in our state record and skips what was written before
  // it joined as old traffic; frames sent earlier would be lost by design, not by the transport.
  TimePoint deadline = Clock::now() + kAttachTimeout;
  while (!link_->joined()) {
    if (Clock::now() > deadline)
      throw std::runtime_error(fmt::format("{}: the reader did not attach to slot 0 within 2 s", config.path));
    link_->run_once(sink_, kDrainWait);
  }
}

LoopbackSession::~LoopbackSession() = default;

std::string LoopbackSession::engine_name() const { return std::string(link_->engine_name()); }
const blockxport::Superblock& LoopbackSession::superblock() const { return link_->send_superblock(); }

SliceResult LoopbackSession::run_slice(std::optional<uint64_t> frames, Nanos duration) {
  blockxport::Link& link = *link_;
  SliceResult slice;
  uint64_t payload_before = sink_.stats().payload_bytes;
  uint64_t generated = 0;
  TimePoint start = Clock::now();
  TimePoint stop_at = start + duration;
  for (;;) {
    if (batch_->empty()) {
      TimePoint now = Clock::now();
      uint64_t left = frames ? *frames - generated : config_.batch_frames;
      if (left == 0 || (!frames && now >= stop_at)) break;
      size_t count = static_cast<size_t>(std::min<uint64_t>(left, config_.batch_frames));
      sink_.expect_up_to(generated_ + count);
      batch_->refill(generated_, count, blockxport::to_ns(now));
      generated_ += count;
      generated += count;
    }
    if (config_.when_ring_full == RingFullPolicy::wait && link.writer().ring_full()) {
      // run_once re-reads the acknowledgement at once when the writer's ring looks full. A reader
      // that stays a full ring behind for the drain timeout is real overload: offer the frames
      // then, and the writer drops and counts them.
      TimePoint held_since = Clock::now();
      TimePoint give_up = held_since + config_.drain_timeout;
      ++holds_;
      while (link.writer().ring_full() && Clock::now() < give_up) link.run_once(sink_, kBackpressureWait);
      held_ += Clock::now() - held_since;
      if (!link.writer().ring_full()) continue;
    }
    size_t offered = batch_->remaining().size();
    size_t taken = link.send(batch_->remaining(), Clock::now());
    batch_->taken(taken);
    // Every block buffer busy, or the writer holding for a fresh acknowledgement: wait for a
    // completion instead of spinning (run_once sleeps until one, or until a timer is due).
    link.run_once(sink_, taken < offered ? kBackpressureWait : Nanos{0});
  }
  TimePoint generation_end = Clock::now();

  TimePoint drain_deadline = generation_end + config_.drain_timeout;
  bool drained = everything_read_back(link);
  while (!drained && Clock::now() < drain_deadline) {
    link.run_once(sink_, kDrainWait);
    drained = everything_read_back(link);
  }
  TimePoint end = Clock::now();

  slice.frames_generated = generated;
  slice.payload_bytes = sink_.stats().payload_bytes - payload_before;
  slice.generate_seconds = seconds_between(start, generation_end);
  slice.elapsed_seconds = seconds_between(start, end);
  slice.drained = drained;
  generate_seconds_ += slice.generate_seconds;
  elapsed_seconds_ += slice.elapsed_seconds;
  drained_ = drained_ && drained;
  return slice;
}

LoopbackResult LoopbackSession::finish() {
  blockxport::Link& link = *link_;
  link.stop();
  LoopbackResult result;
  result.engine = engine_name();
  result.fixed_requests = link.fixed_requests();
  result.backing = link.send_volume().backing_description();
  result.logical_block_size = link.send_volume().logical_block_size();
  result.superblock = link.send_superblock();
  result.writer = link.writer().stats();
  if (link.reader()) result.reader = link.reader()->stats();
  result.link = link.stats();
  result.checks = sink_.stats();
  result.end_to_end = sink_.latency();
  result.frames_generated = generated_;
  result.ring_full_holds = holds_;
  result.ring_full_hold_seconds = std::chrono::duration<double>(held_).count();
  result.generate_seconds = generate_seconds_;
  result.elapsed_seconds = elapsed_seconds_;
  result.drained = drained_;
  return result;
}

}  // namespace vnic_bench
