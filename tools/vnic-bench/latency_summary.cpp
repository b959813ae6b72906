#include "tools/vnic-bench/latency_summary.h"

namespace vnic_bench {

LatencySummary summarize(const blockxport::LatencyHistogram& h) {
  return LatencySummary{
      h.count(),           h.min(), h.mean(), h.percentile(0.50), h.percentile(0.90), h.percentile(0.99),
      h.percentile(0.999), h.max()};
}

nlohmann::json to_json(const LatencySummary& s) {
  return nlohmann::json{{"count", s.count}, {"min", s.min}, {"mean", s.mean},  {"p50", s.p50},
                        {"p90", s.p90},     {"p99", s.p99}, {"p99_9", s.p999}, {"max", s.max}};
}

}  // namespace vnic_bench
