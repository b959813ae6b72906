#include "tools/vnic-bench/loopback_run.h"

#include <memory>
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

double seconds_between(TimePoint from, TimePoint to) { return std::chrono::duration<double>(to - from).count(); }

// The reader starts at the head it finds in our state record and skips what was written before
// it attached as old traffic; frames sent earlier would be lost by design, not by the transport.
void wait_for_reader(blockxport::Link& link, CheckingSink& sink, const std::string& path) {
  TimePoint deadline = Clock::now() + kAttachTimeout;
  while (!(link.reader() && link.reader()->attached())) {
    if (Clock::now() > deadline)
      throw std::runtime_error(fmt::format("{}: the reader did not attach to slot 0 within 2 s", path));
    link.run_once(sink, kDrainWait);
  }
}

// Everything the writer took is on the volume and the reader has consumed up to it.
bool everything_read_back(const blockxport::Link& link) {
  const blockxport::BlockWriter& writer = link.writer();
  return writer.idle() && link.reader() != nullptr && link.reader()->next_sequence() >= writer.next_sequence();
}

// A batch of frames offered to Link::send until all of it is taken.
class FrameBatch {
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

}  // namespace

LoopbackResult run_loopback(const LoopbackConfig& config) {
  blockxport::LinkOptions options;
  options.send_path = config.path;
  options.recv_path = config.path;
  options.send_slot = 0;
  options.peer_slot = 0;
  options.allow_loopback = true;
  options.engine = config.engine;
  options.writer.queue_depth = config.queue_depth;
  options.reader.depth = config.read_depth;
  std::unique_ptr<blockxport::Link> link = blockxport::Link::open(options);

  FramePattern pattern(config.frame_size);
  CheckingSink sink(pattern);
  wait_for_reader(*link, sink, config.path);

  FrameBatch batch(pattern, config.batch_frames);
  uint64_t generated = 0;
  uint64_t holds = 0;
  Nanos held{0};
  TimePoint start = Clock::now();
  TimePoint stop_at = start + config.duration;
  TimePoint now = start;
  for (;;) {
    if (batch.empty()) {
      now = Clock::now();
      uint64_t left = config.frames ? *config.frames - generated : config.batch_frames;
      if (left == 0 || (!config.frames && now >= stop_at)) break;
      size_t count = static_cast<size_t>(std::min<uint64_t>(left, config.batch_frames));
      sink.expect_up_to(generated + count);
      batch.refill(generated, count, blockxport::to_ns(now));
      generated += count;
    }
    if (config.when_ring_full == RingFullPolicy::wait && link->writer().ring_full()) {
      // run_once re-reads the acknowledgement at once when the writer's ring looks full. A reader
      // that stays a full ring behind for the drain timeout is real overload: offer the frames
      // then, and the writer drops and counts them.
      TimePoint held_since = Clock::now();
      TimePoint give_up = held_since + config.drain_timeout;
      ++holds;
      while (link->writer().ring_full() && Clock::now() < give_up) link->run_once(sink, kBackpressureWait);
      held += Clock::now() - held_since;
      if (!link->writer().ring_full()) continue;
    }
    size_t offered = batch.remaining().size();
    size_t taken = link->send(batch.remaining(), Clock::now());
    batch.taken(taken);
    // All block buffers busy: give the writes a moment to complete instead of spinning.
    link->run_once(sink, taken < offered ? kBackpressureWait : Nanos{0});
  }
  TimePoint generation_end = Clock::now();

  TimePoint drain_deadline = generation_end + config.drain_timeout;
  bool drained = everything_read_back(*link);
  while (!drained && Clock::now() < drain_deadline) {
    link->run_once(sink, kDrainWait);
    drained = everything_read_back(*link);
  }
  TimePoint end = Clock::now();
  link->stop();

  LoopbackResult result;
  result.engine = std::string(link->engine_name());
  result.backing = link->send_volume().backing_description();
  result.logical_block_size = link->send_volume().logical_block_size();
  result.superblock = link->send_superblock();
  result.writer = link->writer().stats();
  if (link->reader()) result.reader = link->reader()->stats();
  result.link = link->stats();
  result.checks = sink.stats();
  result.end_to_end = sink.latency();
  result.frames_generated = generated;
  result.ring_full_holds = holds;
  result.ring_full_hold_seconds = std::chrono::duration<double>(held).count();
  result.generate_seconds = seconds_between(start, generation_end);
  result.elapsed_seconds = seconds_between(start, end);
  result.drained = drained;
  return result;
}

}  // namespace vnic_bench
