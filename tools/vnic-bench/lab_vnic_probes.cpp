#include "tools/vnic-bench/lab_vnic_probes.h"

#include <signal.h>
#include <time.h>

#include <charconv>
#include <chrono>
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

// The mean of every numeric field over the sides' figures.
ordered_json mean_of(const ordered_json& by_side) {
  ordered_json mean = ordered_json::object();
  for (const auto& [side, figures] : by_side.items())
    for (const auto& [key, value] : figures.items())
      if (value.is_number()) mean[key] = mean.value(key, 0.0) + value.get<double>() / static_cast<double>(by_side.size());
  return mean;
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
  std::vector<char> sides = lab.sides();
  std::vector<Reading> before, after;
  auto start = std::chrono::steady_clock::now();
  for (char side : sides) before.push_back(read(side));
  sleep_unless_stopped(duration);
  for (char side : sides) after.push_back(read(side));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ordered_json figures;
  for (size_t i = 0; i < sides.size(); ++i)
    figures[std::string(1, sides[i])] =
        idle_figures(before[i].counters, after[i].counters, after[i].cpu - before[i].cpu, seconds);
  if (lab.shared()) figures["per_node"] = mean_of(figures);
  return figures;
}

ordered_json measure_bystanders(const VnicLab& lab, const std::function<void()>& measure) {
  std::vector<char> bystanders;
  for (char side : lab.sides())
    if (side != 'a' && side != 'b') bystanders.push_back(side);
  std::vector<DaemonCounters> before;
  std::vector<double> cpu_before;
  for (char side : bystanders) {
    before.push_back(counters_from_status(lab.status(side)));
    cpu_before.push_back(process_cpu_seconds(lab.daemon_pid(side)));
  }
  auto start = std::chrono::steady_clock::now();
  measure();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ordered_json figures = ordered_json::object();
  for (size_t i = 0; i < bystanders.size(); ++i) {
    char side = bystanders[i];
    nlohmann::json status = lab.status(side);
    ordered_json f = idle_figures(before[i], counters_from_status(status),
                                  process_cpu_seconds(lab.daemon_pid(side)) - cpu_before[i], seconds);
    f["blocks_not_for_it"] = status.value(nlohmann::json::json_pointer("/rx/blocks_not_for_us"), uint64_t{0});
    f["payload_reads_saved"] = status.value(nlohmann::json::json_pointer("/rx/payload_reads_saved"), uint64_t{0});
    figures[std::string(1, side)] = std::move(f);
  }
  return figures;
}

namespace {

// A's status entry for B (slot 1) in "peers".
nlohmann::json peer_b(const nlohmann::json& status) {
  for (const auto& p : status.value("peers", nlohmann::json::array()))
    if (p.value("slot", -1) == 1) return p;
  return nlohmann::json::object();
}

ordered_json measure_peer_death(const VnicLab& lab) {
  nlohmann::json before = lab.status('a');
  unsigned dead_after_ms = before.value(nlohmann::json::json_pointer("/config/dead_after_ms"), kDeadAfterMs);
  unsigned heartbeat_ms =
      before.value(nlohmann::json::json_pointer("/config/heartbeat_interval_ms"), kHeartbeatIntervalMs);
  pid_t victim = lab.daemon_pid('b');
  double killed_unix_ms = std::chrono::duration<double, std::milli>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
  uint64_t killed_ns = monotonic_ns();
  if (::kill(victim, SIGKILL) != 0) throw std::runtime_error(fmt::format("kill -9 {}: no such process", victim));
  for (;;) {
    throw_if_stopped();
    nlohmann::json status = lab.status('a');
    nlohmann::json b = peer_b(status);
    if (b.value("state", std::string()) == "dead") {
      // The daemon's clock at its answer less since_ms dates the change to the daemon's own moment,
      // however seldom (or late, on a loaded machine) this asks.
      double detected_ms = status.at("time_unix_ms").get<double>() - b.value("since_ms", 0.0) - killed_unix_ms;
      unsigned expected = dead_after_ms + heartbeat_ms;
      return {{"killed", fmt::format("vnicd of node b (pid {}), kill -9", victim)},
              {"peer_dead_after_ms", detected_ms},
              {"carrier_off_after_ms", detected_ms},
              {"dead_after_ms", dead_after_ms},
              {"heartbeat_interval_ms", heartbeat_ms},
              {"expected_within_ms", expected},
              {"within_expected", detected_ms <= expected},
              {"carrier_after", status.value(nlohmann::json::json_pointer("/interface/carrier"), false)},
              {"method", "node a's status: peer b's state turning dead, dated by its since_ms (a keeps carrier "
                         "through the other nodes)"}};
    }
    if (std::chrono::nanoseconds(monotonic_ns() - killed_ns) > kWatchLimit)
      throw std::runtime_error(fmt::format("dead detection: node a still sees b {} after {} s", b.value("state", "?"),
                                           kWatchLimit.count()));
    sleep_unless_stopped(std::chrono::milliseconds(20));
  }
}

}  // namespace

ordered_json measure_dead_detection(const LabTools& tools, const VnicLab& lab) {
  if (lab.sides().size() > 2) return measure_peer_death(lab);
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
