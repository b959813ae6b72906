// A log-linear latency histogram (HDR-style): 16 sub-buckets per power of two, so every
// percentile is within 6.25% of the true value, with fixed memory and no allocation per sample.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace blockxport {

class LatencyHistogram {
 public:
  void record(uint64_t nanoseconds) {
    ++counts_[bucket_of(nanoseconds)];
    ++total_;
    sum_ += nanoseconds;
    if (nanoseconds > max_) max_ = nanoseconds;
    if (total_ == 1 || nanoseconds < min_) min_ = nanoseconds;
  }

  void merge(const LatencyHistogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    if (other.total_ != 0 && (total_ == 0 || other.min_ < min_)) min_ = other.min_;
    if (other.max_ > max_) max_ = other.max_;
    total_ += other.total_;
    sum_ += other.sum_;
  }

  uint64_t count() const { return total_; }
  uint64_t max() const { return max_; }
  uint64_t min() const { return total_ ? min_ : 0; }
  double mean() const { return total_ ? static_cast<double>(sum_) / static_cast<double>(total_) : 0.0; }

  // The upper edge of the bucket holding the q-quantile (0 < q <= 1), clamped to the maximum seen.
  uint64_t percentile(double q) const {
    if (total_ == 0) return 0;
    auto rank = static_cast<uint64_t>(q * static_cast<double>(total_) + 0.999999);
    if (rank == 0) rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return upper_edge(i) < max_ ? upper_edge(i) : max_;
    }
    return max_;
  }

  const auto& buckets() const { return counts_; }
  static uint64_t bucket_upper_edge(size_t index) { return upper_edge(index); }

 private:
  static constexpr unsigned kSubBits = 4;
  static constexpr size_t kBuckets = (64 - kSubBits + 1) << kSubBits;

  static size_t bucket_of(uint64_t v) {
    if (v < (1u << kSubBits)) return static_cast<size_t>(v);
    unsigned magnitude = 63u - static_cast<unsigned>(std::countl_zero(v));  // >= kSubBits
    unsigned shift = magnitude - kSubBits;
    uint64_t sub = (v >> shift) & ((1u << kSubBits) - 1);
    return (static_cast<size_t>(shift + 1) << kSubBits) + sub;
  }

  static uint64_t upper_edge(size_t index) {
    size_t group = index >> kSubBits;
    uint64_t sub = index & ((1u << kSubBits) - 1);
    if (group == 0) return sub;
    unsigned shift = static_cast<unsigned>(group - 1);
    return (((uint64_t{1} << kSubBits) + sub + 1) << shift) - 1;
  }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = 0;
};

}  // namespace blockxport
