#include "tools/vnic-bench/lab_vnic_probes.h"

#include <signal.h>
#include <time.h>

#include <charconv>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "tools/vnic-bench/cpu_usage.h"
#include "tools/vnic-bench/stop_signal.h"
#include "tools/vnic-bench/vnic_counters.h"

namespace vnic_bench {
namespace {

using nlohmann::ordered_json;

// vnicd's defaults (daemon/config.h), for a daemon whose status does not report its timers.
constexpr unsigned kDeadAfterMs = 1000;
constexpr unsigned kHeartbeatIntervalMs = 100;
constexpr std::chrono::seconds kWatchLimit{15};

uint64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

ordered_json measure_idle(const VnicLab& lab, std::chrono::nanoseconds duration) {
  // Let the reader leave its spin phase after the last frame (ARP from `vnic-lab up`).
  sleep_unless_stopped(std::chrono::milliseconds(500));
  struct Reading {
    DaemonCounters counters;
    double cpu = 0;
  };
  auto read = [&lab](char side) {
    return Reading{counters_from_status(lab.status(side)), process_cpu_seconds(lab.daemon_pid(side))};
  };
  auto start = std::chrono::steady_clock::now();
  Reading a0 = read('a'), b0 = read('b');
  sleep_unless_stopped(duration);
  Reading a1 = read('a'), b1 = read('b');
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {{"a", idle_figures(a0.counters, a1.counters, a1.cpu - a0.cpu, seconds)},
          {"b", idle_figures(b0.counters, b1.counters, b1.cpu - b0.cpu, seconds)}};
}

ordered_json measure_dead_detection(const LabTools& tools, const VnicLab& lab) {
  vnic_tools::ChildOptions options;
  options.out = vnic_tools::ChildOutput::pipe;
  options.err = vnic_tools::ChildOutput::pipe;
  vnic_tools::ChildProcess watcher = vnic_tools::ChildProcess::spawn({"ip", "netns", "exec", lab.ns('a'), tools.self, "watch-carrier", "vnic0",
                                              "--timeout", std::to_string(kWatchLimit.count())},
                                             options);
  vnic_tools::OutputPump pump(watcher);
  bool ready = false;
  std::optional<uint64_t> off_ns;
  pump.on_out_line = [&](std::string_view line) {
    if (line == "ready") ready = true;
    if (line.starts_with("off ")) {
      uint64_t value = 0;
      std::from_chars(line.data() + 4, line.data() + line.size(), value);
      off_ns = value;
    }
  };
  uint64_t killed_ns = 0;
  pid_t victim = lab.daemon_pid('b');
  // The timers node a really runs with: dead detection is judged against them.
  nlohmann::json before = lab.status('a');
  unsigned dead_after_ms = before.value(nlohmann::json::json_pointer("/config/dead_after_ms"), kDeadAfterMs);
  unsigned heartbeat_ms =
      before.value(nlohmann::json::json_pointer("/config/heartbeat_interval_ms"), kHeartbeatIntervalMs);
  while (!off_ns) {
    throw_if_stopped();
    if (!pump.pump(std::chrono::milliseconds(20))) {
      std::string said = vnic_tools::last_line(pump.err);
      throw std::runtime_error(
          fmt::format("dead detection: carrier watcher in {}: {}", lab.ns('a'), said.empty() ? "exited" : said));
    }
    if (ready && killed_ns == 0) {
      killed_ns = monotonic_ns();
      if (::kill(victim, SIGKILL) != 0) throw std::runtime_error(fmt::format("kill -9 {}: no such process", victim));
    }
  }
  double detected_ms = static_cast<double>(*off_ns - killed_ns) / 1e6;
  std::string peer_state = lab.status('a').value(nlohmann::json::json_pointer("/peer/state"), std::string("unknown"));
  unsigned expected = dead_after_ms + heartbeat_ms;
  return {{"killed", fmt::format("vnicd of node b (pid {}), kill -9", victim)},
          {"carrier_off_after_ms", detected_ms},
          {"dead_after_ms", dead_after_ms},
          {"heartbeat_interval_ms", heartbeat_ms},
          {"expected_within_ms", expected},
          {"within_expected", detected_ms <= expected},
          {"peer_state_after", peer_state},
          {"method", "vnic0's /sys carrier in node a's namespace, read every 1 ms"}};
}

}  // namespace vnic_bench
