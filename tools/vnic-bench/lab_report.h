// The lab's JSON, laid out like iperf3's: {start, intervals, end, ratios}.
//   start      host, kernel, CPUs, options, vnic configuration
//   intervals  one record per finished test, in the order they ran: {round, path, test, figures}
//   end        paths.{vnic, vnic_offload_off, veth, socat} (each {label, transport, results,
//              rounds}), floor, idle, dead_detection, vnic_volume, round_order, ratios_by_round
//   ratios     METRIC.{vs_veth, vs_socat[, vs_floor]} for vnic with offloads on, and the same under
//              ratios.offload_off; each is vnic's figure / the other path's, null when either is
//              missing. With several rounds: results are medians over the rounds and each ratio is
//              the median of the rounds' own ratios (lab_rounds.h).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace vnic_bench {

// The paths, in the order they are measured and shown.
inline constexpr std::string_view kLabPaths[] = {"vnic", "vnic_offload_off", "veth", "socat"};

struct LabMetric {
  std::string_view key;            // the ratios key: "tcp_1stream", "rr_p99_idle", ...
  std::string_view label;          // the table's row label
  std::string_view pointer;        // in end.paths.PATH: "/results/tcp_1stream/gbit_per_s"
  std::string_view floor_pointer;  // in end.floor ("/write_read/p99_us"), empty when not comparable
  bool has_ratio = true;           // losses and counts are shown, not divided
  bool is_count = false;           // printed as a whole number
};

const std::vector<LabMetric>& lab_metrics();

// subject / reference, or null when either is missing or the reference is not positive.
nlohmann::ordered_json ratio_of(std::optional<double> subject, std::optional<double> reference);

// From end (paths and floor): the top-level ratios object.
nlohmann::ordered_json compute_ratios(const nlohmann::ordered_json& end);

// The intervals of one path in one round (1-based), from its client report: {round, path, test,
// figures} per test, figures without the histogram (the CDF data stays in end).
void append_intervals(nlohmann::ordered_json& intervals, std::string_view path, const nlohmann::ordered_json& results,
                      unsigned round);

}  // namespace vnic_bench
