// vnic-bench client HOST: every measurement against a `vnic-bench server`, one after the other
// (see client_tests.h), printed as a short report or, with --json, as JSON only on stdout.
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tools/common/number_parse.h"
#include "tools/vnic-bench/client_report_text.h"
#include "tools/vnic-bench/client_tests.h"
#include "tools/vnic-bench/commands.h"
#include "tools/vnic-bench/cpu_usage.h"
#include "tools/vnic-bench/find_program.h"
#include "tools/vnic-bench/rr_protocol.h"
#include "tools/vnic-bench/stop_signal.h"

namespace vnic_bench {
namespace {

constexpr double kMaxTestSeconds = 3600;
constexpr double kMaxConnectSeconds = 600;

struct ClientArgs {
  std::string host;
  std::string duration = "10";
  std::string port = std::to_string(kDefaultRrPort);
  std::vector<std::string> transport_pids;
  std::string connect_timeout = "3";
  bool json = false;
  bool progress = false;
};

ClientPlan plan_from(const ClientArgs& args) {
  ClientPlan plan;
  plan.host = args.host;
  plan.duration = vnic_tools::parse_seconds("--duration", args.duration, kMaxTestSeconds);
  plan.port = static_cast<uint16_t>(vnic_tools::parse_count("--port", args.port, 1, 65534));
  plan.connect_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      vnic_tools::parse_seconds("--connect-timeout", args.connect_timeout, kMaxConnectSeconds));
  for (const std::string& text : args.transport_pids) {
    auto pid = static_cast<pid_t>(vnic_tools::parse_count("--transport-pid", text, 1, 1 << 22));
    if (!process_exists(pid)) throw vnic_tools::UsageError(fmt::format("--transport-pid {}: no such process", text));
    plan.transport_pids.push_back(pid);
  }
  return plan;
}

int run_client(const ClientArgs& args) {
  ClientPlan plan = plan_from(args);
  require_in_path("iperf3", "scripts/install-deps.sh installs it");
  install_stop_handlers();
  bool show_progress = args.progress || ::isatty(STDERR_FILENO);
  size_t step = 0;
  auto progress = [&](std::string_view test, std::string_view what) {
    ++step;
    // `vnic-bench lab` reads these lines: "vnic-bench client: TEST (i/n): what".
    if (show_progress)
      fmt::print(stderr, "vnic-bench client: {} ({}/{}): {}\n", test, step, std::size(kClientTests), what);
  };
  nlohmann::ordered_json report = run_client_tests(plan, progress);
  if (args.json)
    fmt::print("{}\n", report.dump(2));
  else
    fmt::print("{}", format_client_report(report));
  return 0;
}

}  // namespace

vnic_tools::Subcommand add_client_command(CLI::App& app) {
  auto args = std::make_shared<ClientArgs>();
  CLI::App* cmd = app.add_subcommand(
      "client",
      "Measure the path to a `vnic-bench server`, one test after the other: TCP with 1 and 4 streams, UDP frames/s "
      "at 64 and 1472-byte payloads, and 64-byte request/response round trips idle and under a TCP stream.");
  cmd->add_option("host", args->host, "The server's address or name (its vnic0 address)")
      ->required()
      ->type_name("HOST");
  cmd->add_option("--duration", args->duration, "Seconds per test (default 10; iperf3 rounds up to whole seconds)")
      ->type_name("S");
  cmd->add_option(
         "--port", args->port,
         fmt::format("The server's request/response port; its iperf3 is on the next (default {})", kDefaultRrPort))
      ->type_name("P");
  cmd->add_option("--transport-pid", args->transport_pids,
                  "A process that carries the traffic (vnicd, socat): its CPU seconds per Gbit are reported for the "
                  "TCP tests; repeat for several")
      ->type_name("PID")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--connect-timeout", args->connect_timeout,
                  "Seconds to wait for the server's first answer (default 3)")
      ->type_name("S");
  cmd->add_flag("--json", args->json, "Print only JSON on stdout");
  cmd->add_flag("--progress", args->progress, "Print a line on stderr as each test starts (default: on a terminal)");
  cmd->footer(
      "JSON: {host, port, iperf3_port, duration_s, transport_pids, results: {tcp_1stream, tcp_4streams, udp_64, "
      "udp_1472, rr_idle, rr_load}}. TCP: gbit_per_s (received), retransmits, transport_cpu_s_per_gbit (null without "
      "--transport-pid), system_cpu_s_per_gbit (all CPUs, /proc/stat, iperf3 included). UDP: sent_frames_per_s, "
      "received_frames_per_s, loss_percent. RR: rtt {count, lost, min_us, mean_us, p50_us, p90_us, p99_us, p999_us, "
      "max_us} and histogram {buckets_per_decade, upper_us, counts} for CDFs; rr_load adds load_gbit_per_s.");
  return {cmd, [args] { return run_client(*args); }};
}

}  // namespace vnic_bench
