#include "tools/vnic-bench/client_report_text.h"

#include <fmt/format.h>

#include "tools/vnic-bench/figure_format.h"

namespace vnic_bench {
namespace {

using nlohmann::ordered_json;

std::string figure(const ordered_json& object, const char* key) {
  return format_figure(number_at(object, std::string("/") + key));
}

std::string count(const ordered_json& object, const char* key) {
  return format_count(number_at(object, std::string("/") + key));
}

std::string tcp_line(const char* label, const ordered_json& r) {
  return fmt::format("  {:<22}{} Gbit/s, CPU s/Gbit: transport {}, system {}; retransmits {}\n", label,
                     figure(r, "gbit_per_s"), figure(r, "transport_cpu_s_per_gbit"), figure(r, "system_cpu_s_per_gbit"),
                     count(r, "retransmits"));
}

std::string udp_line(const char* label, const ordered_json& r) {
  return fmt::format("  {:<22}sent {} frames/s, received {} frames/s, loss {} %\n", label,
                     figure(r, "sent_frames_per_s"), figure(r, "received_frames_per_s"), figure(r, "loss_percent"));
}

}  // namespace

std::string format_rtt_line(const ordered_json& rtt) {
  return fmt::format("count {}, lost {}; us: min {}, p50 {}, p90 {}, p99 {}, p99.9 {}, max {}", count(rtt, "count"),
                     count(rtt, "lost"), figure(rtt, "min_us"), figure(rtt, "p50_us"), figure(rtt, "p90_us"),
                     figure(rtt, "p99_us"), figure(rtt, "p999_us"), figure(rtt, "max_us"));
}

std::string format_client_report(const ordered_json& report) {
  const ordered_json& results = report.at("results");
  std::string out = fmt::format("vnic-bench client: {} (requests on port {}, iperf3 on {}), {} s per test\n",
                                report.at("host").get<std::string>(), count(report, "port"),
                                count(report, "iperf3_port"), figure(report, "duration_s"));
  out += tcp_line("TCP, 1 stream", results.at("tcp_1stream"));
  out += tcp_line("TCP, 4 streams", results.at("tcp_4streams"));
  out += udp_line("UDP, 64 B payloads", results.at("udp_64"));
  out += udp_line("UDP, 1472 B payloads", results.at("udp_1472"));
  out += fmt::format("  {:<22}{}\n", "RR 64 B, idle", format_rtt_line(results.at("rr_idle").at("rtt")));
  out +=
      fmt::format("  {:<22}{} (under {} Gbit/s of TCP)\n", "RR 64 B, under load",
                  format_rtt_line(results.at("rr_load").at("rtt")), figure(results.at("rr_load"), "load_gbit_per_s"));
  return out;
}

}  // namespace vnic_bench
