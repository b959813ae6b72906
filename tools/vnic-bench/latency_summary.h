// The percentiles every benchmark report shows, taken from a blockxport::LatencyHistogram (each
// within 6.25% of the true value; max and min are exact).
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "blockxport/latency_histogram.h"

namespace vnic_bench {

struct LatencySummary {
  uint64_t count = 0;
  uint64_t min = 0;
  double mean = 0;
  uint64_t p50 = 0;
  uint64_t p90 = 0;
  uint64_t p99 = 0;
  uint64_t p999 = 0;
  uint64_t max = 0;
};

LatencySummary summarize(const blockxport::LatencyHistogram& histogram);
// Nanoseconds, keys count, min, mean, p50, p90, p99, p99_9, max.
nlohmann::json to_json(const LatencySummary& summary);

}  // namespace vnic_bench
