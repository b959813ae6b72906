// A fine log-scale histogram of round-trip times, small enough to ship in JSON and exact enough to
// draw a CDF from: 200 buckets per decade, so each bucket is 1.2% wide (10^(1/200)). Only
// non-empty buckets are kept. The percentiles in reports come from the raw samples (RttSummary);
// this is what crosses process boundaries for the plot.
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace vnic_bench {

class RttHistogram {
 public:
  static constexpr int kBucketsPerDecade = 200;

  void record(uint64_t nanoseconds);
  // Adds every sample of `other` (the rounds of one path become one distribution).
  void merge(const RttHistogram& other);
  uint64_t count() const { return count_; }

  // {"buckets_per_decade": 200, "upper_us": [...], "counts": [...]}, ascending.
  nlohmann::ordered_json to_json() const;
  // Throws std::runtime_error when `doc` is not such an object.
  static RttHistogram from_json(const nlohmann::json& doc);

  // (bucket upper edge in µs, fraction of samples at or below it), one point per non-empty bucket,
  // ascending; the last fraction is 1.
  std::vector<std::pair<double, double>> cdf() const;

  // The upper edge of bucket `index`, in nanoseconds.
  static double upper_edge_ns(int index);
  static int bucket_of(uint64_t nanoseconds);

 private:
  std::map<int, uint64_t> buckets_;
  uint64_t count_ = 0;
};

}  // namespace vnic_bench
