#include "tools/vnic-bench/rtt_summary.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace vnic_bench {

uint64_t nearest_rank(std::span<const uint64_t> sorted, double q) {
  if (sorted.empty()) return 0;
  // ceil(q * n) computed with a tolerance: 0.99 * 1000 must be rank 990, not 991.
  double exact = q * static_cast<double>(sorted.size());
  auto rank = static_cast<size_t>(std::ceil(exact - 1e-9));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

RttSummary summarize_rtt(std::vector<uint64_t> samples_ns, uint64_t lost) {
  RttSummary s;
  s.lost = lost;
  s.count = samples_ns.size();
  if (samples_ns.empty()) return s;
  std::sort(samples_ns.begin(), samples_ns.end());
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  double sum = std::accumulate(samples_ns.begin(), samples_ns.end(), 0.0,
                               [](double acc, uint64_t v) { return acc + static_cast<double>(v); });
  s.min_us = us(samples_ns.front());
  s.mean_us = sum / static_cast<double>(samples_ns.size()) / 1000.0;
  s.p50_us = us(nearest_rank(samples_ns, 0.50));
  s.p90_us = us(nearest_rank(samples_ns, 0.90));
  s.p99_us = us(nearest_rank(samples_ns, 0.99));
  s.p999_us = us(nearest_rank(samples_ns, 0.999));
  s.max_us = us(samples_ns.back());
  return s;
}

nlohmann::ordered_json to_json(const RttSummary& s) {
  return {{"count", s.count},     {"lost", s.lost},       {"min_us", s.min_us},
          {"mean_us", s.mean_us}, {"p50_us", s.p50_us},   {"p90_us", s.p90_us},
          {"p99_us", s.p99_us},   {"p999_us", s.p999_us}, {"max_us", s.max_us}};
}

}  // namespace vnic_bench
