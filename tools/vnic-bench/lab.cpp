// vnic-bench lab: the whole comparison on one machine. It builds the two-namespace vnic lab and
// measures, one after the other, vnic with offloads on and off, a veth pair between the same two
// namespaces (the kernel's ceiling) and a socat TAP-over-UDP tunnel over that veth (what one
// would build instead), each with `client` against `server`; plus the storage floor, the cost of
// an idle vnicd, and how fast a node sees its peer die. With --rounds N the four paths are
// measured N times, interleaved, vnic first in odd rounds and last in even ones, so that a slow
// drift of the machine's load weighs on both sides of each ratio. With --nodes N, vnic is N nodes
// on one shared LUN (client and server on a and b, the others looking on). Everything it set up is
// torn down at the end, on error and on SIGINT/SIGTERM.
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "tools/vnic-bench/cdf_plot.h"
#include "tools/vnic-bench/commands.h"
#include "tools/vnic-bench/find_program.h"
#include "tools/vnic-bench/host_info.h"
#include "tools/vnic-bench/lab_env.h"
#include "tools/vnic-bench/lab_options.h"
#include "tools/vnic-bench/lab_path.h"
#include "tools/vnic-bench/lab_report.h"
#include "tools/vnic-bench/lab_rounds.h"
#include "tools/vnic-bench/lab_table.h"
#include "tools/vnic-bench/lab_vnic_probes.h"
#include "tools/vnic-bench/stop_signal.h"
#include "tools/vnic-bench/storage_floor.h"
#include "tools/vnic-bench/vnic_counters.h"

namespace vnic_bench {
namespace {

using nlohmann::ordered_json;

// The socat tunnel's frames (up to 1514 bytes) travel in UDP over the veth: 28 more bytes must
// fit without IP fragmentation, so the underlay gets a larger MTU while the TAP keeps 1500, as
// vnic0 and the veth path do.
constexpr unsigned kTunnelUnderlayMtu = 1600;

double seconds_of(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

class LabRun {
 public:
  LabRun(const LabPlan& plan, const LabTools& tools) : plan_(plan), tools_(tools) {}

  ordered_json run();

 private:
  void progress(std::string_view message) const {
    if (plan_.rounds > 1)
      fmt::print(stderr, "vnic-bench lab: round {}/{}: {}\n", round_ + 1, plan_.rounds, message);
    else
      fmt::print(stderr, "vnic-bench lab: {}\n", message);
  }
  void interval(std::string_view path, std::string_view test, const ordered_json& figures);
  void vnic_paths(bool offload);
  void reference_paths();
  void dead_detection();
  void record_path(const PathSpec& path, const std::string& transport, ordered_json client_report);
  ordered_json fold_rounds();
  ordered_json start_object(const ordered_json& vnic_status) const;

  const LabPlan& plan_;
  const LabTools& tools_;
  unsigned round_ = 0;
  ordered_json start_;
  ordered_json intervals_ = ordered_json::array();
  ordered_json end_ = {{"paths", ordered_json::object()}};
  // Per path (and per vnic volume figure set), one entry per round, folded by fold_rounds().
  std::map<std::string, std::vector<ordered_json>> path_rounds_;
  std::map<std::string, std::vector<ordered_json>> volume_rounds_;
};

void LabRun::interval(std::string_view path, std::string_view test, const ordered_json& figures) {
  ordered_json copy = figures;
  copy.erase("histogram");
  intervals_.push_back({{"round", round_ + 1}, {"path", path}, {"test", test}, {"figures", copy}});
}

void LabRun::record_path(const PathSpec& path, const std::string& transport, ordered_json client_report) {
  ordered_json results = client_report.at("results");
  if (path.transport_pids.empty()) {
    for (const char* test : {"tcp_1stream", "tcp_4streams"})
      results[test]["transport_cpu_note"] = "no transport process: the kernel forwards between the namespaces";
  }
  append_intervals(intervals_, path.key, results, round_ + 1);
  end_["paths"][path.key] = {{"label", path.label},
                             {"transport", transport},
                             {"transport_pids", client_report.at("transport_pids")},
                             {"client_namespace", path.client_ns},
                             {"server_namespace", path.server_ns},
                             {"server_address", path.server_address}};
  path_rounds_[path.key].push_back(std::move(results));
}

// Medians over the rounds into end; every round's own figures (without histograms) stay beside
// them. Returns the ratios, taken inside each round first.
ordered_json LabRun::fold_rounds() {
  const ordered_json empty_round = {{"paths", ordered_json::object()}, {"floor", end_["floor"]}};
  std::vector<ordered_json> round_ends(plan_.rounds, empty_round);
  for (auto& [key, rounds] : path_rounds_) {
    ordered_json& path = end_["paths"][key];
    path["results"] = median_of_rounds(rounds);
    path["rounds"] = ordered_json::array();
    for (size_t r = 0; r < rounds.size(); ++r) {
      round_ends[r]["paths"][key]["results"] = rounds[r];
      ordered_json figures = rounds[r];
      for (auto& [test, test_figures] : figures.items()) test_figures.erase("histogram");
      path["rounds"].push_back(std::move(figures));
    }
  }
  for (auto& [key, rounds] : volume_rounds_) end_["vnic_volume"][key] = median_of_rounds(rounds);
  ordered_json ratios = ratios_over_rounds(round_ends);
  end_["ratios_by_round"] = ratios["by_round"];
  return ratios["median"];
}

ordered_json LabRun::start_object(const ordered_json& status) const {
  ordered_json start = host_info();
  start["options"] = {{"duration_s", seconds_of(plan_.duration)},
                      {"idle_duration_s", seconds_of(plan_.idle_duration)},
                      {"block_size", plan_.block_size},
                      {"io_engine", plan_.engine},
                      {"backing", plan_.backing},
                      {"name", plan_.name},
                      {"port", plan_.port},
                      {"plot", plan_.plot_path}};
  start["vnic_config"] = {
      {"engine", status.value(nlohmann::json::json_pointer("/volumes/engine"), std::string())},
      {"block_size", status.value(nlohmann::json::json_pointer("/volumes/block_size"), 0)},
      {"ring_blocks", status.value(nlohmann::json::json_pointer("/tx/ring_blocks"), 0)},
      {"backing", status.value(nlohmann::json::json_pointer("/volumes/backing"), std::string())},
      {"offloads", status.value(nlohmann::json::json_pointer("/interface/offloads"), std::string())},
      {"mtu", 1500},
      {"dead_after_ms", 1000},
      {"heartbeat_interval_ms", 100},
      {"mode", plan_.nodes > 0 ? fmt::format("shared LUN, {} nodes (slots a to {})", plan_.nodes,
                                              static_cast<char>('a' + plan_.nodes - 1))
                              : std::string("mirrored pair (two volume files)")},
      {"addresses", "10.77.0.1/24 (a), 10.77.0.2/24 (b), and 10.77.0.N for the shared LUN's further nodes"},
      {"note", "vnicd defaults except what vnic-lab sets (block size, engine, offload, backing)"}};
  start["paths"] = {{"vnic", plan_.nodes > 0 ? fmt::format("vnicd in each of {} namespaces on one shared volume (vnic-lab "
                                                          "--shared), a to b, offloads on",
                                                          plan_.nodes)
                                             : "vnicd in each namespace, frames through two volume files (vnic-lab), "
                                               "offloads on"},
                    {"vnic_offload_off", "the same with vnicd --offload off"},
                    {"veth", "a veth pair between the same two namespaces, 10.77.20.0/24: the kernel's ceiling"},
                    {"socat", fmt::format("socat TAP (10.77.30.0/24, MTU 1500) over UDP over the veth pair (MTU {})",
                                          kTunnelUnderlayMtu)}};
  start["tools"] = {{"iperf3", program_version({"iperf3", "--version"})},
                    {"socat", program_version({"socat", "-V"})},
                    {"gnuplot", program_version({"gnuplot", "--version"})}};
  start["options"]["rounds"] = plan_.rounds;
  start["ratio_definition"] =
      "ratios.METRIC.vs_X = vnic's METRIC / X's METRIC from the same run (null when either is missing); "
      "ratios.offload_off holds the same for vnic with offloads off; vs_floor compares with the storage floor's "
      "write + read latency. With several rounds each ratio is the median of the ratios taken within each round "
      "(end.ratios_by_round), and each figure in end.paths.PATH.results the median of its rounds "
      "(end.paths.PATH.rounds); RTT histograms hold every round's samples";
  return start;
}

void LabRun::vnic_paths(bool offload) {
  std::string key = offload ? "vnic" : "vnic_offload_off";
  std::string label = offload ? "vnic" : "vnic, offloads off";
  progress(fmt::format("[{}] vnic-lab up (offload {}, block size {}, engine {}, backing {})", label,
                       offload ? "on" : "off", plan_.block_size, plan_.engine, plan_.backing));
  VnicLab lab(tools_, plan_, offload);
  if (offload && round_ == 0) {
    start_ = start_object(lab.status('a'));
    progress(fmt::format("[{}] idle vnicd, no traffic, {:.3g} s", label, seconds_of(plan_.idle_duration)));
    end_["idle"] = measure_idle(lab, plan_.idle_duration);
    interval(key, "idle", end_["idle"]);
    progress(
        fmt::format("[{}] storage floor: 4 KiB O_DIRECT write + read, queue depth 1, in {}", label, lab.volume_dir()));
    FloorPlan floor;
    floor.dir = lab.volume_dir();
    floor.loop = plan_.backing == "loop";
    floor.engine = plan_.engine_kind;
    end_["floor"] = measure_storage_floor(floor);
    interval("storage", "floor", end_["floor"]);
  }
  PathSpec path{key, label, lab.ns('a'), lab.ns('b'), lab.address('b'), {lab.daemon_pid('a'), lab.daemon_pid('b')}};
  DaemonCounters a0 = counters_from_status(lab.status('a')), b0 = counters_from_status(lab.status('b'));
  ordered_json report;
  auto measure = [&] { report = measure_path(tools_, plan_, path, [this](std::string_view m) { progress(m); }); };
  if (lab.shared()) {
    // What the nodes that are neither client nor server pay while a and b talk.
    end_["bystanders"][key] = measure_bystanders(lab, measure);
    interval(key, "bystanders", end_["bystanders"][key]);
  } else {
    measure();
  }
  DaemonCounters a1 = counters_from_status(lab.status('a')), b1 = counters_from_status(lab.status('b'));
  record_path(path, "vnicd of node a and node b", std::move(report));
  std::vector<ordered_json>& volume = volume_rounds_[offload ? "offload_on" : "offload_off"];
  volume.push_back(volume_figures(a0, a1, b0, b1));
  interval(key, "volume", volume.back());
  progress(fmt::format("[{}] vnic-lab down", label));
}

void LabRun::reference_paths() {
  progress("[veth] namespaces and a veth pair (10.77.20.0/24)");
  NamespacePair namespaces(plan_.name);
  namespaces.add_veth();
  PathSpec veth{"veth", "veth", namespaces.ns('a'), namespaces.ns('b'), NamespacePair::veth_address('b'), {}};
  record_path(veth, "none (kernel)", measure_path(tools_, plan_, veth, [this](std::string_view m) { progress(m); }));

  progress(fmt::format("[socat tunnel] socat TAP over UDP over the veth pair (underlay MTU {})", kTunnelUnderlayMtu));
  namespaces.set_veth_mtu(kTunnelUnderlayMtu);
  // Its own port next to the server's two, so each lab's processes can be told apart.
  SocatTunnel tunnel(namespaces, static_cast<uint16_t>(plan_.port + 2));
  PathSpec socat{"socat",
                 "socat tunnel",
                 namespaces.ns('a'),
                 namespaces.ns('b'),
                 SocatTunnel::address('b'),
                 {tunnel.pid('a'), tunnel.pid('b')}};
  record_path(socat, "socat of node a and node b",
              measure_path(tools_, plan_, socat, [this](std::string_view m) { progress(m); }));
  tunnel.check_alive();
  progress("[veth, socat tunnel] tearing down");
}

void LabRun::dead_detection() {
  progress("[vnic] vnic-lab up for dead detection");
  VnicLab lab(tools_, plan_, true);
  progress("[vnic] dead detection: kill -9 node b's vnicd, wait for node a's carrier to go off");
  end_["dead_detection"] = measure_dead_detection(tools_, lab);
  interval("vnic", "dead_detection", end_["dead_detection"]);
  progress("[vnic] vnic-lab down");
}

ordered_json LabRun::run() {
  end_["round_order"] = ordered_json::array();
  for (round_ = 0; round_ < plan_.rounds; ++round_) {
    // The storage floor and idle cost are taken once, in the first round, which starts with vnic.
    bool vnic_first = round_ % 2 == 0;
    end_["round_order"].push_back(vnic_first ? ordered_json{"vnic", "vnic_offload_off", "veth", "socat"}
                                             : ordered_json{"veth", "socat", "vnic_offload_off", "vnic"});
    if (vnic_first) {
      vnic_paths(true);
      vnic_paths(false);
      reference_paths();
    } else {
      reference_paths();
      vnic_paths(false);
      vnic_paths(true);
    }
  }
  round_ = plan_.rounds - 1;
  dead_detection();
  end_["load_average"] = load_average();
  ordered_json ratios = fold_rounds();
  ordered_json report = {{"start", start_}, {"intervals", intervals_}, {"end", end_}};
  report["ratios"] = std::move(ratios);
  return report;
}

std::vector<CdfCurve> curves_of(const ordered_json& report) {
  std::vector<CdfCurve> curves;
  int color = 1;
  for (std::string_view key : kLabPaths) {
    const ordered_json& path = report["end"]["paths"][std::string(key)];
    std::string label = path["label"].get<std::string>();
    curves.push_back(
        {label + ", idle", RttHistogram::from_json(path["results"]["rr_idle"]["histogram"]), color, false});
    curves.push_back(
        {label + ", under load", RttHistogram::from_json(path["results"]["rr_load"]["histogram"]), color, true});
    ++color;
  }
  curves.push_back(
      {"storage floor (4 KiB write + read)", RttHistogram::from_json(report["end"]["floor"]["histogram"]), 8, false});
  return curves;
}

// Returns false when the plot failed (after saying why).
bool write_plot(const LabPlan& plan, ordered_json& report) {
  std::string path = std::filesystem::absolute(plan.plot_path).string();
  if (!find_in_path("gnuplot")) {
    fmt::print(stderr, "vnic-bench lab: gnuplot not found, no plot (apt-get install gnuplot-nox)\n");
    report["end"]["plot"] = nullptr;
    return true;
  }
  try {
    plot_cdf_svg(curves_of(report), path,
                 "64-byte UDP request/response round trips (solid: idle, dashed: under a TCP stream)");
  } catch (const std::runtime_error& error) {
    vnic_tools::print_error("vnic-bench", fmt::format("{}: plot failed: {}", path, error.what()));
    report["end"]["plot"] = nullptr;
    return false;
  }
  report["end"]["plot"] = path;
  fmt::print(stderr, "vnic-bench lab: round-trip CDFs plotted to {}\n", path);
  return true;
}

int run_lab(const LabArgs& args) {
  LabPlan plan = lab_plan_from(args);
  if (::geteuid() != 0)
    throw std::runtime_error("lab: must run as root (it creates network namespaces, TAP devices and a veth pair)");
  LabTools tools = find_lab_tools(plan);
  install_stop_handlers();
  ordered_json report;
  try {
    report = LabRun(plan, tools).run();
  } catch (const Interrupted& stopped) {
    // Every destructor has run by now: namespaces, daemons, servers and tunnels are gone.
    throw std::runtime_error(fmt::format("lab {}; everything it set up was torn down", stopped.what()));
  }
  bool plotted = write_plot(plan, report);
  if (plan.json)
    fmt::print("{}\n", report.dump(2));
  else
    fmt::print("{}", format_lab_table(report));
  return plotted ? 0 : vnic_tools::kExitRuntimeError;
}

}  // namespace

vnic_tools::Subcommand add_lab_command(CLI::App& app) {
  auto args = std::make_shared<LabArgs>();
  CLI::App* cmd = app.add_subcommand(
      "lab",
      "Build the two-namespace vnic lab and compare, in one run: vnic (offloads on, then off), a veth pair (the "
      "kernel's ceiling) and a socat TAP-over-UDP tunnel, with `client` against `server` on each; plus the storage "
      "floor, idle vnicd cost and dead detection. Needs root.");
  cmd->add_option("--duration", args->duration, "Seconds per test (default 10; six tests per path)")->type_name("S");
  cmd->add_option("--rounds", args->rounds,
                  "Measure the four paths this many times, interleaved; figures are medians, each ratio the median "
                  "of the rounds' ratios (default 1, at most 20)")
      ->type_name("N");
  cmd->add_option("--block-size", args->block_size, "vnic block size, 4K to 1M (default 64K)")->type_name("SIZE");
  cmd->add_option("--io-engine", args->engine, "auto, io_uring, libaio or sync (default auto)")->type_name("E");
  cmd->add_option("--backing", args->backing, "Volumes as files, or loop devices over them (default file)")
      ->type_name("file|loop");
  cmd->add_option("--plot", args->plot, "Where to write the SVG of the RTT CDFs (default vnic-bench-lab.svg)")
      ->type_name("PATH.svg");
  cmd->add_option("--name", args->name,
                  "Lab name: namespaces NAME-a and NAME-b, /run/NAME, /var/tmp/NAME (default vnic-bench)")
      ->type_name("NAME");
  cmd->add_option("--idle-duration", args->idle_duration, "Seconds of idle vnicd measurement (default 10)")
      ->type_name("S");
  cmd->add_option(
         "--port", args->port,
         "Server port inside the namespaces; iperf3 uses the next, the socat tunnel the one after (default 7700)")
      ->type_name("P");
  cmd->add_option("--nodes", args->nodes,
                  "vnic as N nodes (2 to 8) on one shared LUN instead of a mirrored pair: client and server on "
                  "nodes a and b, the others idle beside them; idle cost is measured on every node")
      ->type_name("N");
  cmd->add_flag("--json", args->json, "Print only JSON on stdout (progress stays on stderr)");
  cmd->footer(
      "JSON: {start, intervals, end, ratios}. start: host, kernel, cpu_count, options, vnic_config, tools. intervals: "
      "{round, path, test, figures} per finished test. end: paths.{vnic, vnic_offload_off, veth, socat}.results (as "
      "`client --json`; medians over the rounds) and .rounds (each round's), floor, idle.{a,b}, dead_detection, "
      "vnic_volume.{offload_on, offload_off}.{a,b,both}, round_order, ratios_by_round, plot; with --nodes, idle "
      "has every node and per_node (their mean), and bystanders.{vnic, vnic_offload_off}.{c,...} what the other "
      "nodes cost during the a-b tests. ratios: "
      "METRIC.{vs_veth, vs_socat, vs_floor} = vnic / other (the median of the rounds' ratios), and "
      "ratios.offload_off.METRIC likewise.");
  return {cmd, [args] { return run_lab(*args); }};
}

}  // namespace vnic_bench
