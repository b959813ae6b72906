// `vnic-bench raw`'s findings: what was asked, what the vnic run and the storage ceilings
// measured round by round, what follows from them, and whether every frame is accounted for.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/vnic-bench/loopback_run.h"
#include "tools/vnic-bench/storage_ceiling.h"

namespace vnic_bench {

struct RawSettings {
  std::string path;
  std::string engine_requested;
  uint32_t frame_size = 0;
  unsigned queue_depth = 0;
  size_t batch_frames = 0;
  unsigned read_depth = 0;
  uint32_t max_read_bytes = 0;
  unsigned rounds = 0;
  std::string when_ring_full;
  std::optional<uint64_t> frames;
  double duration_seconds = 0;  // meaningful without `frames`
  double ceiling_seconds = 0;
  bool formatted_now = false;
};

// Every frame sent ends up delivered or dropped for a counted reason; `unexplained` is what is
// left (negative: more arrived than could have).
struct FrameAccounting {
  uint64_t sent = 0;
  uint64_t delivered = 0;  // distinct, intact frames
  uint64_t dropped_ring_full = 0;
  uint64_t dropped_too_big = 0;
  uint64_t dropped_too_old = 0;    // older than the reader's max_age when read
  uint64_t dropped_by_reader = 0;  // in blocks the reader counted as lost (corrupt, missing, lapped, ...)
  int64_t unexplained = 0;

  uint64_t dropped() const { return dropped_ring_full + dropped_too_big + dropped_too_old + dropped_by_reader; }
};

// One vnic slice and one slice of each ceiling, run back to back: a machine whose speed drifts
// (other load, the host's caches) moves them together, so their ratios are fair where ratios of
// runs minutes apart are not.
struct RoundResult {
  SliceResult vnic;
  CeilingResult ceiling;  // write only
  CeilingResult rw_ceiling;
  CeilingResult read_ceiling;

  double ratio_to_ceiling() const;
  double ratio_to_rw_ceiling() const;
  // The most a loopback could reach against the write ceiling, whatever the transport does.
  double rw_ceiling_to_ceiling() const;
  double read_ceiling_to_ceiling() const;
};

struct RawReport {
  RawSettings settings;
  LoopbackResult vnic;       // all slices together
  CeilingResult ceiling;     // every round's write ceiling together
  CeilingResult rw_ceiling;  // ... loopback ceiling
  CeilingResult read_ceiling;
  std::vector<RoundResult> rounds;

  FrameAccounting accounting() const;
  double payload_bytes_per_second() const;  // delivered payload over the vnic run's elapsed time
  double frames_per_second() const;
  // Frame bytes per block after its 64-byte header: what record headers and padding leave.
  double block_fill() const;
  // Volume bytes written per payload byte written.
  double amplification() const;
  // Medians of the rounds' ratios.
  double ratio_to_ceiling() const;
  double ratio_to_rw_ceiling() const;
  double rw_ceiling_to_ceiling() const;
  double read_ceiling_to_ceiling() const;
  // Why the run failed (corrupt, duplicated, reordered or silently lost frames); empty when it passed.
  std::vector<std::string> failures() const;
};

void print_raw_report(const RawReport& report);
void print_raw_report_json(const RawReport& report);

}  // namespace vnic_bench
