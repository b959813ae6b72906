#include "tools/vnic-bench/iperf_run.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "tools/vnic-bench/iperf_json.h"
#include "tools/vnic-bench/stop_signal.h"

namespace vnic_bench {
namespace {

constexpr int kBetweenTestsRetries = 40;
constexpr std::chrono::milliseconds kBetweenTestsPause{250};
constexpr unsigned kBrokenControlRetries = 2;
constexpr std::chrono::seconds kBrokenControlPause{1};

long whole_seconds(std::chrono::nanoseconds duration) {
  return std::max(1L, static_cast<long>(std::ceil(std::chrono::duration<double>(duration).count())));
}

// How long a test may take before it is stopped: its duration, connection set-up and the final
// exchange of results, with room for a loaded machine.
std::chrono::nanoseconds run_limit(const IperfTest& test) {
  return std::chrono::seconds(whole_seconds(test.duration) + 30) + test.connect_timeout;
}

nlohmann::json parse_or_throw(const IperfTest& test, const vnic_tools::CapturedRun& run) {
  try {
    return parse_iperf_output(run.out);
  } catch (const std::runtime_error& error) {
    std::string said = vnic_tools::last_line(run.err);
    throw std::runtime_error(fmt::format("iperf3 -c {} -p {}: {}{}", test.host, test.port, error.what(),
                                         said.empty() ? "" : fmt::format(" ({})", said)));
  }
}

}  // namespace

std::vector<std::string> iperf_client_argv(const IperfTest& test) {
  std::vector<std::string> argv = {"iperf3",
                                   "--client",
                                   test.host,
                                   "--port",
                                   std::to_string(test.port),
                                   "--time",
                                   std::to_string(whole_seconds(test.duration)),
                                   "--json",
                                   "--connect-timeout",
                                   std::to_string(test.connect_timeout.count())};
  if (test.streams > 1) {
    argv.push_back("--parallel");
    argv.push_back(std::to_string(test.streams));
  }
  if (test.udp_payload) {
    // -b 0: no pacing, as many datagrams as the sender manages; the receiver's count is the figure.
    argv.insert(argv.end(), {"--udp", "--length", std::to_string(*test.udp_payload), "--bitrate", "0"});
  }
  return argv;
}

bool is_server_between_tests(std::string_view message) {
  return message.find("busy") != std::string_view::npos || message.find("Connection refused") != std::string_view::npos;
}

bool is_control_connection_error(std::string_view message) {
  for (std::string_view sign : {"control message", "control socket", "Connection reset", "Broken pipe"})
    if (message.find(sign) != std::string_view::npos) return true;
  return false;
}

IperfRun run_iperf(const IperfTest& test, const std::function<void()>& before_attempt) {
  IperfRun result;
  int waits = 0;
  unsigned broken = 0;
  for (;; ++result.attempts) {
    if (before_attempt) before_attempt();
    vnic_tools::CaptureOptions options;
    options.check_stop = throw_if_stopped;
    options.timeout = run_limit(test);
    vnic_tools::CapturedRun run = vnic_tools::run_captured(iperf_client_argv(test), options);
    try {
      result.doc = parse_or_throw(test, run);
      return result;
    } catch (const std::runtime_error& error) {
      std::string_view message = error.what();
      if (is_server_between_tests(message) && waits++ < kBetweenTestsRetries) {
        sleep_unless_stopped(kBetweenTestsPause);
        continue;
      }
      if (!is_control_connection_error(message) || broken++ >= kBrokenControlRetries) throw;
    }
    sleep_unless_stopped(kBrokenControlPause);
  }
}

BackgroundIperf::BackgroundIperf(const IperfTest& test) : test_(test) {
  vnic_tools::ChildOptions options;
  options.out = vnic_tools::ChildOutput::pipe;
  options.err = vnic_tools::ChildOutput::pipe;
  child_ = vnic_tools::ChildProcess::spawn(iperf_client_argv(test), options);
}

nlohmann::json BackgroundIperf::finish() {
  vnic_tools::OutputPump pump(child_);
  auto deadline = std::chrono::steady_clock::now() + run_limit(test_);
  while (pump.pump(std::chrono::milliseconds(50))) {
    if (stop_requested() || std::chrono::steady_clock::now() > deadline) {
      child_.stop();
      throw_if_stopped();
      throw std::runtime_error(fmt::format("iperf3 -c {} (load): did not finish", test_.host));
    }
  }
  child_.wait_for(std::chrono::seconds(5));
  return parse_or_throw(test_, {child_.exit_code(), pump.out, pump.err});
}

}  // namespace vnic_bench
