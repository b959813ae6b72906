// The frames the benchmarks send: [sequence: u64][send time: u64 steady-clock ns][pattern ...].
// The pattern is a window into one fixed pseudo-random buffer at an offset derived from the
// sequence, so making a frame is a memcpy and checking one is a memcmp: the benchmark measures
// the transport, not its own pattern generator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace vnic_bench {

inline constexpr size_t kFrameStampBytes = 16;  // sequence and timestamp

class FramePattern {
 public:
  explicit FramePattern(size_t frame_size);

  size_t frame_size() const { return frame_size_; }
  void fill(std::span<std::byte> frame, uint64_t sequence, uint64_t send_ns) const;
  bool pattern_intact(std::span<const std::byte> frame, uint64_t sequence) const;

  static uint64_t sequence_of(std::span<const std::byte> frame);
  static uint64_t send_ns_of(std::span<const std::byte> frame);

 private:
  const std::byte* window(uint64_t sequence) const;

  size_t frame_size_;
  std::vector<std::byte> source_;
};

}  // namespace vnic_bench
