// The vnic half of `vnic-bench raw`: one Link that writes slot 0 of a volume and reads the same
// slot back through the volume (O_DIRECT writes, polling reads, acks in the state records), driven
// from one thread as fast as it will take frames. It runs in slices, so the storage ceilings can
// be measured between them: each slice ends only once everything it sent is read back, which
// leaves the ring free for the ceilings (they leave blocks a reader takes for "not written yet").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "blockxport/clock.h"
#include "blockxport/format.h"
#include "blockxport/io_engine.h"
#include "blockxport/latency_histogram.h"
#include "blockxport/link.h"
#include "blockxport/reader.h"
#include "blockxport/writer.h"
#include "tools/vnic-bench/checking_sink.h"
#include "tools/vnic-bench/frame_pattern.h"

namespace vnic_bench {

// What the generator does while the writer's ring is full. Either way the writer itself first
// holds frames (backpressure) until a fresh acknowledgement says whether the ring really is full.
enum class RingFullPolicy : uint8_t {
  drop,  // keep offering: once a fresh ack confirms the ring full, the writer tail-drops and counts
  wait,  // hold the frames while the writer's last acknowledgement says the ring is full
};

struct LoopbackConfig {
  std::string path;
  blockxport::EngineKind engine = blockxport::EngineKind::automatic;
  unsigned queue_depth = 8;
  uint32_t frame_size = 1500;
  size_t batch_frames = 32;
  unsigned read_depth = blockxport::ReaderOptions{}.depth;
  uint32_t max_read_bytes = blockxport::ReaderOptions{}.max_read_bytes;
  RingFullPolicy when_ring_full = RingFullPolicy::drop;
  bool fixed_buffers = true;  // io_uring: block buffers registered once
  blockxport::Nanos drain_timeout{5'000'000'000};  // after a slice, wait at most this for its last frames
};

// One slice: frames offered for a while (or a count of them), then drained.
struct SliceResult {
  uint64_t frames_generated = 0;
  uint64_t payload_bytes = 0;   // delivered intact in this slice
  double generate_seconds = 0;  // first frame offered to last frame taken
  double elapsed_seconds = 0;   // first frame offered to everything read back
  bool drained = false;

  double bytes_per_second() const {
    return elapsed_seconds > 0 ? static_cast<double>(payload_bytes) / elapsed_seconds : 0;
  }
};

struct LoopbackResult {
  std::string engine;
  uint64_t fixed_requests = 0;  // of the engine's requests, through registered buffers
  std::string backing;
  uint32_t logical_block_size = 0;
  blockxport::Superblock superblock;
  blockxport::WriterStats writer;
  blockxport::ReaderStats reader;
  blockxport::LinkStats link;
  FrameCheckStats checks;
  blockxport::LatencyHistogram end_to_end;
  uint64_t frames_generated = 0;  // every one of them taken by Link::send
  uint64_t ring_full_holds = 0;   // RingFullPolicy::wait: times the generator held back
  double ring_full_hold_seconds = 0;
  double generate_seconds = 0;  // summed over the slices
  double elapsed_seconds = 0;   // summed over the slices
  bool drained = false;         // every slice was read back before its drain timeout
};

class LoopbackSession {
 public:
  // Opens the link and waits for its reader to attach; throws with a one-line message.
  explicit LoopbackSession(const LoopbackConfig& config);
  ~LoopbackSession();
  LoopbackSession(const LoopbackSession&) = delete;
  LoopbackSession& operator=(const LoopbackSession&) = delete;

  std::string engine_name() const;
  const blockxport::Superblock& superblock() const;

  // Sends `frames` frames, or for `duration` when `frames` is empty, then drains.
  SliceResult run_slice(std::optional<uint64_t> frames, blockxport::Nanos duration);
  // Stops the link cleanly and reports everything since it opened.
  LoopbackResult finish();

 private:
  class FrameBatch;

  LoopbackConfig config_;
  std::unique_ptr<blockxport::Link> link_;
  FramePattern pattern_;
  CheckingSink sink_;
  std::unique_ptr<FrameBatch> batch_;
  uint64_t generated_ = 0;
  uint64_t holds_ = 0;
  blockxport::Nanos held_{0};
  double generate_seconds_ = 0;
  double elapsed_seconds_ = 0;
  bool drained_ = true;
};

}  // namespace vnic_bench
