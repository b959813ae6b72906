// The vnic half of `vnic-bench raw`: one Link that writes slot 0 of a volume and reads the same
// slot back through the volume (O_DIRECT writes, polling reads, acks in the state records), driven
// from one thread as fast as it will take frames.
#pragma once

#include <cstdint>
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

namespace vnic_bench {

// What the generator does while the writer believes its ring is full (from the reader's last
// acknowledgement it has seen, which travels through the volume and can be well behind).
enum class RingFullPolicy : uint8_t {
  drop,  // keep offering: the writer tail-drops and counts, as a NIC under overload does
  wait,  // hold the frames until the writer has re-read the acknowledgement and has room again
};

struct LoopbackConfig {
  std::string path;
  blockxport::EngineKind engine = blockxport::EngineKind::automatic;
  unsigned queue_depth = 8;
  uint32_t frame_size = 1500;
  size_t batch_frames = 32;
  unsigned read_depth = blockxport::ReaderOptions{}.depth;
  RingFullPolicy when_ring_full = RingFullPolicy::drop;
  std::optional<uint64_t> frames;                  // stop after this many, or else ...
  blockxport::Nanos duration{5'000'000'000};       // ... after this long
  blockxport::Nanos drain_timeout{5'000'000'000};  // then wait at most this for the last frames
};

struct LoopbackResult {
  std::string engine;
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
  double generate_seconds = 0;  // first frame offered to last frame taken
  double elapsed_seconds = 0;   // first frame offered to the moment everything was accounted for
  bool drained = false;         // everything written was read back before drain_timeout
};

LoopbackResult run_loopback(const LoopbackConfig& config);

}  // namespace vnic_bench
