#include "tools/vnic-bench/lab_table.h"

#include <fmt/format.h>

#include "tools/vnic-bench/figure_format.h"
#include "tools/vnic-bench/lab_report.h"
#include "tools/vnic-bench/text_table.h"

namespace vnic_bench {
namespace {

using nlohmann::ordered_json;

std::string at(const ordered_json& doc, const std::string& pointer) { return format_figure(number_at(doc, pointer)); }

std::string text_at(const ordered_json& doc, const std::string& pointer, const char* fallback = kMissing) {
  ordered_json::json_pointer path(pointer);
  return doc.contains(path) && doc.at(path).is_string() ? doc.at(path).get<std::string>() : fallback;
}

std::string paths_table(const ordered_json& report) {
  TextRow header = {"", "vnic", "vnic, offloads off", "veth", "socat tunnel", "vnic/veth", "vnic/socat"};
  std::vector<TextRow> rows;
  for (const LabMetric& m : lab_metrics()) {
    TextRow row = {std::string(m.label)};
    for (std::string_view path : kLabPaths) {
      auto value = number_at(report, "/end/paths/" + std::string(path) + std::string(m.pointer));
      row.push_back(m.is_count ? format_count(value) : format_figure(value));
    }
    if (m.has_ratio) {
      row.push_back(at(report, "/ratios/" + std::string(m.key) + "/vs_veth"));
      row.push_back(at(report, "/ratios/" + std::string(m.key) + "/vs_socat"));
    }
    rows.push_back(std::move(row));
  }
  return render_table(header, rows);
}

std::string floor_line(const ordered_json& report) {
  if (!report.contains(ordered_json::json_pointer("/end/floor"))) return "";
  const std::string f = "/end/floor";
  return fmt::format(
      "storage floor: 4 KiB O_DIRECT write + read at queue depth 1 ({}, {}), µs: p50 {}, p90 {}, p99 {}, p99.9 {}, max "
      "{} ({} samples); vnic idle RR p99 / floor p99 = {}\n",
      text_at(report, f + "/engine"), text_at(report, f + "/backing"), at(report, f + "/write_read/p50_us"),
      at(report, f + "/write_read/p90_us"), at(report, f + "/write_read/p99_us"), at(report, f + "/write_read/p999_us"),
      at(report, f + "/write_read/max_us"), format_count(number_at(report, f + "/write_read/count")),
      at(report, "/ratios/rr_p99_idle/vs_floor"));
}

std::string volume_line(const ordered_json& report) {
  const std::string v = "/end/vnic_volume";
  if (!report.contains(ordered_json::json_pointer(v))) return "";
  return fmt::format(
      "vnic volume over the run (both nodes): {} volume bytes written per payload byte, block fill {} (offloads off: "
      "{}, fill {})\n",
      at(report, v + "/offload_on/both/volume_bytes_per_payload_byte"),
      at(report, v + "/offload_on/both/block_fill_ratio"),
      at(report, v + "/offload_off/both/volume_bytes_per_payload_byte"),
      at(report, v + "/offload_off/both/block_fill_ratio"));
}

std::string idle_line(const ordered_json& report) {
  const std::string i = "/end/idle";
  if (!report.contains(ordered_json::json_pointer(i))) return "";
  std::string out = fmt::format("idle vnicd over {} s:", at(report, i + "/a/seconds"));
  for (const auto& [side, figures] : report.at(ordered_json::json_pointer(i)).items()) {
    std::string s = i + "/" + side;
    out += fmt::format(" {} {}% of a core, {} I/Os/s ({} data reads, {} state reads, {} state writes);", side,
                       at(report, s + "/cpu_percent_of_one_core"), at(report, s + "/ios_per_s"),
                       at(report, s + "/data_reads_per_s"), at(report, s + "/state_reads_per_s"),
                       at(report, s + "/state_writes_per_s"));
  }
  out.back() = '\n';
  return out;
}

std::string bystander_line(const ordered_json& report) {
  const std::string b = "/end/bystanders/vnic";
  if (!report.contains(ordered_json::json_pointer(b))) return "";
  std::string out = "the other nodes while a and b were measured (offloads on):";
  for (const auto& [side, figures] : report.at(ordered_json::json_pointer(b)).items()) {
    std::string s = b + "/" + side;
    out += fmt::format(" {} {}% of a core, {} I/Os/s, {} blocks passed over ({} left unread past the header);", side,
                       at(report, s + "/cpu_percent_of_one_core"), at(report, s + "/ios_per_s"),
                       at(report, s + "/blocks_not_for_it"), at(report, s + "/payload_reads_saved"));
  }
  out.back() = '\n';
  return out;
}

std::string dead_line(const ordered_json& report) {
  const std::string d = "/end/dead_detection";
  if (!report.contains(ordered_json::json_pointer(d))) return "";
  ordered_json::json_pointer within(d + "/within_expected");
  bool ok = report.contains(within) && report.at(within).is_boolean() && report.at(within).get<bool>();
  return fmt::format(
      "dead detection: node a {} {} ms after kill -9 of node b's vnicd (dead_after {} ms + heartbeat {} ms: "
      "{})\n",
      report.contains(ordered_json::json_pointer(d + "/peer_dead_after_ms")) ? "saw b dead" : "lost carrier",
      at(report, d + "/carrier_off_after_ms"), at(report, d + "/dead_after_ms"),
      at(report, d + "/heartbeat_interval_ms"), ok ? "within" : "LATE");
}

}  // namespace

std::string format_lab_table(const ordered_json& report) {
  auto rounds = number_at(report, "/start/options/rounds");
  std::string rounds_note =
      rounds && *rounds > 1
          ? fmt::format("; medians of {} interleaved rounds, each ratio the median of the rounds' own ratios",
                        format_count(rounds))
          : "";
  std::string out =
      fmt::format("vnic-bench lab: {} s per test{}; {}, {} CPUs; load average {} at the start\n\n",
                  at(report, "/start/options/duration_s"), rounds_note, text_at(report, "/start/kernel"),
                  format_count(number_at(report, "/start/cpu_count")), text_at(report, "/start/load_average", "?"));
  out += paths_table(report);
  out += "\n";
  out += floor_line(report);
  out += volume_line(report);
  out += idle_line(report);
  out += bystander_line(report);
  out += dead_line(report);
  return out;
}

}  // namespace vnic_bench
