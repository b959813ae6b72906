#include "tools/vnic-bench/frame_pattern.h"

#include <algorithm>
#include <cstring>

namespace vnic_bench {
namespace {

// Distinct windows: neighbouring sequences land far apart, so a frame's bytes swapped with a
// neighbour's never pass the check.
constexpr uint64_t kWindowCount = 4093;  // prime
constexpr size_t kWindowStep = 8;

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

FramePattern::FramePattern(size_t frame_size)
    : frame_size_(frame_size), source_(kWindowCount * kWindowStep + frame_size) {
  uint64_t state = 0x766e69632d62656eull;  // fixed: every run sends the same bytes
  for (size_t i = 0; i < source_.size(); i += 8) {
    state = splitmix64(state);
    size_t n = std::min<size_t>(8, source_.size() - i);
    std::memcpy(source_.data() + i, &state, n);
  }
}

const std::byte* FramePattern::window(uint64_t sequence) const {
  return source_.data() + (splitmix64(sequence) % kWindowCount) * kWindowStep;
}

void FramePattern::fill(std::span<std::byte> frame, uint64_t sequence, uint64_t send_ns) const {
  std::memcpy(frame.data(), &sequence, 8);
  std::memcpy(frame.data() + 8, &send_ns, 8);
  std::memcpy(frame.data() + kFrameStampBytes, window(sequence), frame.size() - kFrameStampBytes);
}

bool FramePattern::pattern_intact(std::span<const std::byte> frame, uint64_t sequence) const {
  return std::memcmp(frame.data() + kFrameStampBytes, window(sequence), frame.size() - kFrameStampBytes) == 0;
}

uint64_t FramePattern::sequence_of(std::span<const std::byte> frame) {
  uint64_t value;
  std::memcpy(&value, frame.data(), 8);
  return value;
}

uint64_t FramePattern::send_ns_of(std::span<const std::byte> frame) {
  uint64_t value;
  std::memcpy(&value, frame.data() + 8, 8);
  return value;
}

}  // namespace vnic_bench
