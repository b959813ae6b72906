// Round-trip-time percentiles from the samples themselves (exact, nearest rank), the figures
// every request/response report shows: count, lost, min, mean, p50, p90, p99, p99.9, max.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

namespace vnic_bench {

struct RttSummary {
  uint64_t count = 0;  // answered requests recorded
  uint64_t lost = 0;   // requests that timed out
  double min_us = 0;
  double mean_us = 0;
  double p50_us = 0;
  double p90_us = 0;
  double p99_us = 0;
  double p999_us = 0;
  double max_us = 0;
};

// The nearest-rank q-quantile of sorted samples: the smallest sample with at least a fraction q
// of all samples at or below it (q = 0.5 of {1, 2, 3, 4} is 2; q = 0.99 of 1000 samples is the
// 990th). 0 for no samples.
uint64_t nearest_rank(std::span<const uint64_t> sorted, double q);

// Samples in nanoseconds, in any order.
RttSummary summarize_rtt(std::vector<uint64_t> samples_ns, uint64_t lost);

// Keys count, lost, min_us, mean_us, p50_us, p90_us, p99_us, p999_us, max_us (as vnicd's status
// JSON names its latencies).
nlohmann::ordered_json to_json(const RttSummary& summary);

}  // namespace vnic_bench
