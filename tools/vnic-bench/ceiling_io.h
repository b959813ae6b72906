// What the three storage ceilings share: the volume and engine they run on, and the blocks they
// write.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

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

  // One measurement: until `duration` is over, submit_more(now) submits what it can; then every
  // completion, until none is in flight, goes to take(completion, now). Sets the result's engine
  // and its seconds, from the start to the last completion.
  template <typename SubmitMore, typename Take>
  void drive(blockxport::Nanos duration, CeilingResult& result, SubmitMore&& submit_more, Take&& take) {
    std::array<blockxport::IoCompletion, 64> done;
    blockxport::TimePoint start = blockxport::Clock::now();
    blockxport::TimePoint stop_at = start + duration;
    blockxport::TimePoint last_completion = start;
    blockxport::TimePoint now = start;
    while (now < stop_at || engine->in_flight() > 0) {
      if (now < stop_at) submit_more(now);
      size_t n = engine->reap(done, kCeilingReapWait);
      now = blockxport::Clock::now();
      for (size_t i = 0; i < n; ++i) take(done[i], now);
      if (n > 0) last_completion = now;
    }
    result.engine = std::string(engine->name());
    result.seconds = std::chrono::duration<double>(last_completion - start).count();
  }

 private:
  const CeilingConfig& config_;
};

}  // namespace vnic_bench
