#include "tools/vnic-bench/rtt_histogram.h"

#include <cmath>
#include <stdexcept>

namespace vnic_bench {

int RttHistogram::bucket_of(uint64_t nanoseconds) {
  if (nanoseconds <= 1) return 0;
  return static_cast<int>(std::floor(std::log10(static_cast<double>(nanoseconds)) * kBucketsPerDecade));
}

double RttHistogram::upper_edge_ns(int index) {
  return std::pow(10.0, static_cast<double>(index + 1) / kBucketsPerDecade);
}

void RttHistogram::record(uint64_t nanoseconds) {
  ++buckets_[bucket_of(nanoseconds)];
  ++count_;
}

void RttHistogram::merge(const RttHistogram& other) {
  for (const auto& [index, n] : other.buckets_) buckets_[index] += n;
  count_ += other.count_;
}

nlohmann::ordered_json RttHistogram::to_json() const {
  nlohmann::ordered_json upper = nlohmann::ordered_json::array();
  nlohmann::ordered_json counts = nlohmann::ordered_json::array();
  for (const auto& [index, n] : buckets_) {
    // Four significant digits are enough for a 1.2%-wide bucket and keep the JSON short.
    double us = upper_edge_ns(index) / 1000.0;
    double scale = std::pow(10.0, 3 - std::floor(std::log10(us)));
    upper.push_back(std::round(us * scale) / scale);
    counts.push_back(n);
  }
  return {{"buckets_per_decade", kBucketsPerDecade}, {"upper_us", upper}, {"counts", counts}};
}

RttHistogram RttHistogram::from_json(const nlohmann::json& doc) {
  if (!doc.is_object() || !doc.contains("upper_us") || !doc.contains("counts") || !doc["upper_us"].is_array() ||
      !doc["counts"].is_array() || doc["upper_us"].size() != doc["counts"].size())
    throw std::runtime_error("RTT histogram: expected upper_us and counts arrays of the same length");
  RttHistogram h;
  for (size_t i = 0; i < doc["counts"].size(); ++i) {
    double upper_ns = doc["upper_us"][i].get<double>() * 1000.0;
    auto n = doc["counts"][i].get<uint64_t>();
    // The edge was rounded to 4 digits; the bucket is the one whose upper edge is nearest.
    int index = static_cast<int>(std::lround(std::log10(upper_ns) * kBucketsPerDecade)) - 1;
    h.buckets_[index] += n;
    h.count_ += n;
  }
  return h;
}

std::vector<std::pair<double, double>> RttHistogram::cdf() const {
  std::vector<std::pair<double, double>> points;
  if (count_ == 0) return points;
  uint64_t seen = 0;
  for (const auto& [index, n] : buckets_) {
    seen += n;
    points.emplace_back(upper_edge_ns(index) / 1000.0, static_cast<double>(seen) / static_cast<double>(count_));
  }
  return points;
}

}  // namespace vnic_bench
