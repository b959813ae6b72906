#include "tools/vnic-bench/lab_report.h"

#include <string>

#include "tools/vnic-bench/figure_format.h"

namespace vnic_bench {

using nlohmann::ordered_json;

const std::vector<LabMetric>& lab_metrics() {
  static const std::vector<LabMetric> kMetrics = {
      {"tcp_1stream", "TCP 1 stream, Gbit/s", "/results/tcp_1stream/gbit_per_s", "", true},
      {"tcp_4streams", "TCP 4 streams, Gbit/s", "/results/tcp_4streams/gbit_per_s", "", true},
      {"udp_64_sent_fps", "UDP 64 B sent, frames/s", "/results/udp_64/sent_frames_per_s", "", true},
      {"udp_64_received_fps", "UDP 64 B received, frames/s", "/results/udp_64/received_frames_per_s", "", true},
      {"udp_64_loss_percent", "UDP 64 B loss, %", "/results/udp_64/loss_percent", "", false},
      {"udp_1472_sent_fps", "UDP 1472 B sent, frames/s", "/results/udp_1472/sent_frames_per_s", "", true},
      {"udp_1472_received_fps", "UDP 1472 B received, frames/s", "/results/udp_1472/received_frames_per_s", "", true},
      {"udp_1472_loss_percent", "UDP 1472 B loss, %", "/results/udp_1472/loss_percent", "", false},
      {"rr_p50_idle", "RR idle p50, µs", "/results/rr_idle/rtt/p50_us", "/write_read/p50_us", true},
      {"rr_p90_idle", "RR idle p90, µs", "/results/rr_idle/rtt/p90_us", "/write_read/p90_us", true},
      {"rr_p99_idle", "RR idle p99, µs", "/results/rr_idle/rtt/p99_us", "/write_read/p99_us", true},
      {"rr_p999_idle", "RR idle p99.9, µs", "/results/rr_idle/rtt/p999_us", "/write_read/p999_us", true},
      {"rr_max_idle", "RR idle max, µs", "/results/rr_idle/rtt/max_us", "/write_read/max_us", true},
      {"rr_count_idle", "RR idle count", "/results/rr_idle/rtt/count", "", false, true},
      {"rr_lost_idle", "RR idle lost", "/results/rr_idle/rtt/lost", "", false, true},
      {"rr_p50_load", "RR under load p50, µs", "/results/rr_load/rtt/p50_us", "/write_read/p50_us", true},
      {"rr_p90_load", "RR under load p90, µs", "/results/rr_load/rtt/p90_us", "/write_read/p90_us", true},
      {"rr_p99_load", "RR under load p99, µs", "/results/rr_load/rtt/p99_us", "/write_read/p99_us", true},
      {"rr_p999_load", "RR under load p99.9, µs", "/results/rr_load/rtt/p999_us", "/write_read/p999_us", true},
      {"rr_max_load", "RR under load max, µs", "/results/rr_load/rtt/max_us", "/write_read/max_us", true},
      {"rr_count_load", "RR under load count", "/results/rr_load/rtt/count", "", false, true},
      {"rr_lost_load", "RR under load lost", "/results/rr_load/rtt/lost", "", false, true},
      {"rr_load_gbit", "  TCP load during RR, Gbit/s", "/results/rr_load/load_gbit_per_s", "", true},
      {"tcp_1stream_transport_cpu_per_gbit", "transport CPU s/Gbit, TCP 1 stream",
       "/results/tcp_1stream/transport_cpu_s_per_gbit", "", true},
      {"tcp_4streams_transport_cpu_per_gbit", "transport CPU s/Gbit, TCP 4 streams",
       "/results/tcp_4streams/transport_cpu_s_per_gbit", "", true},
      {"tcp_1stream_system_cpu_per_gbit", "system CPU s/Gbit, TCP 1 stream",
       "/results/tcp_1stream/system_cpu_s_per_gbit", "", true},
      {"tcp_4streams_system_cpu_per_gbit", "system CPU s/Gbit, TCP 4 streams",
       "/results/tcp_4streams/system_cpu_s_per_gbit", "", true},
  };
  return kMetrics;
}

ordered_json ratio_of(std::optional<double> subject, std::optional<double> reference) {
  if (!subject || !reference || *reference <= 0) return nullptr;
  return *subject / *reference;
}

namespace {

std::optional<double> figure_of(const ordered_json& end, std::string_view path, std::string_view pointer) {
  return number_at(end, "/paths/" + std::string(path) + std::string(pointer));
}

ordered_json ratios_for(const ordered_json& end, std::string_view subject) {
  ordered_json out = ordered_json::object();
  for (const LabMetric& m : lab_metrics()) {
    if (!m.has_ratio) continue;
    auto value = figure_of(end, subject, m.pointer);
    ordered_json r = {{"vs_veth", ratio_of(value, figure_of(end, "veth", m.pointer))},
                      {"vs_socat", ratio_of(value, figure_of(end, "socat", m.pointer))}};
    if (!m.floor_pointer.empty())
      r["vs_floor"] = ratio_of(value, number_at(end, "/floor" + std::string(m.floor_pointer)));
    out[std::string(m.key)] = r;
  }
  return out;
}

}  // namespace

ordered_json compute_ratios(const ordered_json& end) {
  ordered_json ratios = ratios_for(end, "vnic");
  ratios["offload_off"] = ratios_for(end, "vnic_offload_off");
  return ratios;
}

void append_intervals(ordered_json& intervals, std::string_view path, const ordered_json& results, unsigned round) {
  for (const auto& [test, figures] : results.items()) {
    ordered_json copy = figures;
    copy.erase("histogram");
    intervals.push_back({{"round", round}, {"path", path}, {"test", test}, {"figures", copy}});
  }
}

}  // namespace vnic_bench
