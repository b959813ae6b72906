#include "tools/vnic-bench/client_tests.h"

#include <fmt/format.h>

#include "tools/vnic-bench/cpu_usage.h"
#include "tools/vnic-bench/iperf_json.h"
#include "tools/vnic-bench/iperf_run.h"
#include "tools/vnic-bench/stop_signal.h"

namespace vnic_bench {
namespace {

using nlohmann::ordered_json;

constexpr uint32_t kSmallPayload = 64;
// The largest UDP payload in one 1500-byte IPv4 frame: 1500 - 20 (IP) - 8 (UDP).
constexpr uint32_t kFullPayload = 1472;
constexpr unsigned kManyStreams = 4;
// The load stream runs a little before and after the request/response run, so the whole run is
// under load (TCP ramps up in its first moments).
constexpr std::chrono::milliseconds kLoadRampUp{500};

double seconds_of(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

// null when there is nothing to divide by, so a missing figure never reads as a real zero.
ordered_json per_gbit(std::optional<double> cpu_s, uint64_t bytes) {
  if (!cpu_s || bytes == 0) return nullptr;
  return *cpu_s / (static_cast<double>(bytes) * 8 / 1e9);
}

IperfTest iperf_test(const ClientPlan& plan) {
  IperfTest test;
  test.host = plan.host;
  test.port = static_cast<uint16_t>(plan.port + 1);
  test.duration = plan.duration;
  test.connect_timeout = plan.connect_timeout;
  return test;
}

ordered_json tcp_test(const ClientPlan& plan, unsigned streams) {
  IperfTest test = iperf_test(plan);
  test.streams = streams;
  CpuMeter meter(plan.transport_pids);
  IperfRun run = run_iperf(test, [&meter] { meter.start(); });
  CpuMeter::Used cpu = meter.stop();
  TcpResult tcp = tcp_result_from(run.doc);
  ordered_json r = {
      {"streams", tcp.streams},  {"gbit_per_s", tcp.gbit_per_s}, {"sender_gbit_per_s", tcp.sender_gbit_per_s},
      {"bytes", tcp.bytes},      {"seconds", tcp.seconds},       {"retransmits", tcp.retransmits},
      {"attempts", run.attempts}};
  r["transport_cpu_s"] = cpu.transport_s ? ordered_json(*cpu.transport_s) : ordered_json(nullptr);
  r["transport_cpu_s_per_gbit"] = per_gbit(cpu.transport_s, tcp.bytes);
  if (!cpu.transport_s) r["transport_cpu_note"] = "no --transport-pid given";
  r["system_cpu_s"] = cpu.system_s;
  r["system_cpu_s_per_gbit"] = per_gbit(cpu.system_s, tcp.bytes);
  return r;
}

ordered_json udp_test(const ClientPlan& plan, uint32_t payload) {
  IperfTest test = iperf_test(plan);
  test.udp_payload = payload;
  IperfRun run = run_iperf(test);
  UdpResult udp = udp_result_from(run.doc);
  return {{"payload_bytes", udp.payload_bytes},
          {"sent_frames", udp.sent_frames},
          {"received_frames", udp.received_frames},
          {"sent_frames_per_s", udp.sent_frames_per_s},
          {"received_frames_per_s", udp.received_frames_per_s},
          {"loss_percent", udp.loss_percent},
          {"received_gbit_per_s", udp.received_gbit_per_s},
          {"attempts", run.attempts}};
}

ordered_json rr_under_load(const ClientPlan& plan, RrClient& client) {
  IperfTest load = iperf_test(plan);
  load.duration = plan.duration + 2 * kLoadRampUp;
  BackgroundIperf iperf(load);
  sleep_unless_stopped(kLoadRampUp);
  RrOptions options;
  options.duration = plan.duration;
  options.warmup = 0;  // warmed up by the idle run; the load is what is measured
  ordered_json r = rr_report(client.run(options));
  TcpResult tcp = tcp_result_from(iperf.finish());
  r["load_streams"] = tcp.streams;
  r["load_gbit_per_s"] = tcp.gbit_per_s;
  return r;
}

}  // namespace

ordered_json rr_report(const RrRun& run) {
  RttHistogram histogram;
  for (uint64_t ns : run.samples_ns) histogram.record(ns);
  ordered_json r = {
      {"rtt", to_json(summarize_rtt(run.samples_ns, run.lost))},
      {"stale", run.stale},
      {"seconds", run.seconds},
      {"requests_per_s", run.seconds > 0 ? static_cast<double>(run.samples_ns.size()) / run.seconds : 0.0}};
  r["histogram"] = histogram.to_json();
  return r;
}

ordered_json run_client_tests(const ClientPlan& plan, const ClientProgress& progress) {
  Endpoint server = resolve_udp(plan.host, plan.port);
  RrClient rr(server);
  rr.wait_for_server(plan.connect_timeout);

  std::string per_test = fmt::format("{:.3g} s", seconds_of(plan.duration));
  ordered_json results = ordered_json::object();
  progress("tcp_1stream", fmt::format("TCP, 1 stream, {}", per_test));
  results["tcp_1stream"] = tcp_test(plan, 1);
  progress("tcp_4streams", fmt::format("TCP, {} streams, {}", kManyStreams, per_test));
  results["tcp_4streams"] = tcp_test(plan, kManyStreams);
  progress("udp_64", fmt::format("UDP, {}-byte payloads, unpaced, {}", kSmallPayload, per_test));
  results["udp_64"] = udp_test(plan, kSmallPayload);
  progress("udp_1472", fmt::format("UDP, {}-byte payloads, unpaced, {}", kFullPayload, per_test));
  results["udp_1472"] = udp_test(plan, kFullPayload);

  progress("rr_idle", fmt::format("64-byte request/response, idle, {}", per_test));
  RrOptions idle;
  idle.duration = plan.duration;
  results["rr_idle"] = rr_report(rr.run(idle));
  progress("rr_load", fmt::format("64-byte request/response under a TCP stream, {}", per_test));
  results["rr_load"] = rr_under_load(plan, rr);

  ordered_json pids = ordered_json::array();
  for (pid_t pid : plan.transport_pids) pids.push_back(pid);
  return {{"host", plan.host},
          {"port", plan.port},
          {"iperf3_port", plan.port + 1},
          {"duration_s", seconds_of(plan.duration)},
          {"transport_pids", pids},
          {"results", results}};
}

}  // namespace vnic_bench
