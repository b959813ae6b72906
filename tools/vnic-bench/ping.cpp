// vnic-bench ping HOST: only the 64-byte request/response round trips against a
// `vnic-bench server`, with the same percentiles (and histogram, in JSON) as `client`.
#include <memory>
#include <string>

#include <fmt/format.h>

#include "tools/common/number_parse.h"
#include "tools/vnic-bench/client_report_text.h"
#include "tools/vnic-bench/client_tests.h"
#include "tools/vnic-bench/commands.h"
#include "tools/vnic-bench/rr_client.h"
#include "tools/vnic-bench/rr_protocol.h"
#include "tools/vnic-bench/stop_signal.h"

namespace vnic_bench {
namespace {

constexpr double kMaxSeconds = 24 * 3600;
constexpr std::chrono::seconds kDefaultDuration{5};

struct PingArgs {
  std::string host;
  std::string count;
  std::string duration;
  std::string port = std::to_string(kDefaultRrPort);
  std::string timeout = "1";
  std::string connect_timeout = "3";
  bool json = false;
};

int run_ping(const PingArgs& args) {
  using vnic_tools::parse_seconds;
  RrOptions options;
  if (!args.count.empty()) options.count = vnic_tools::parse_count("--count", args.count, 1, uint64_t{1} << 32);
  options.duration = args.duration.empty() ? kDefaultDuration : parse_seconds("--duration", args.duration, kMaxSeconds);
  options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(parse_seconds("--timeout", args.timeout, 60));
  auto connect_timeout = parse_seconds("--connect-timeout", args.connect_timeout, 600);
  auto port = static_cast<uint16_t>(vnic_tools::parse_count("--port", args.port, 1, 65534));
  install_stop_handlers();

  Endpoint server = resolve_udp(args.host, port);
  RrClient client(server);
  client.wait_for_server(connect_timeout);
  RrRun run = client.run(options);
  if (run.samples_ns.empty())
    throw std::runtime_error(fmt::format("{}: none of {} requests was answered", server.text, run.lost));
  nlohmann::ordered_json report = {{"host", args.host}, {"port", port}};
  report.update(rr_report(run));
  if (args.json) {
    fmt::print("{}\n", report.dump(2));
  } else {
    fmt::print("vnic-bench ping {}: {:.0f} round trips/s\n  {}\n", server.text, report["requests_per_s"].get<double>(),
               format_rtt_line(report["rtt"]));
  }
  return 0;
}

}  // namespace

vnic_tools::Subcommand add_ping_command(CLI::App& app) {
  auto args = std::make_shared<PingArgs>();
  CLI::App* cmd = app.add_subcommand(
      "ping", "Measure 64-byte UDP request/response round trips against a `vnic-bench server`, back to back.");
  cmd->add_option("host", args->host, "The server's address or name")->required()->type_name("HOST");
  auto* count =
      cmd->add_option("--count", args->count, "Requests to record (after 300 warm-up requests)")->type_name("N");
  auto* duration = cmd->add_option("--duration", args->duration, "Seconds to run instead (default 5)")->type_name("S");
  count->excludes(duration);
  cmd->add_option("--port", args->port, fmt::format("The server's UDP port (default {})", kDefaultRrPort))
      ->type_name("P");
  cmd->add_option("--timeout", args->timeout, "Seconds before a request counts as lost (default 1)")->type_name("S");
  cmd->add_option("--connect-timeout", args->connect_timeout,
                  "Seconds to wait for the server's first answer (default 3)")
      ->type_name("S");
  cmd->add_flag("--json", args->json, "Print only JSON on stdout");
  cmd->footer(
      "JSON: {host, port, rtt: {count, lost, min_us, mean_us, p50_us, p90_us, p99_us, p999_us, max_us}, stale, "
      "seconds, requests_per_s, histogram: {buckets_per_decade, upper_us, counts}}. Percentiles are exact (nearest "
      "rank over every sample).");
  return {cmd, [args] { return run_ping(*args); }};
}

}  // namespace vnic_bench
