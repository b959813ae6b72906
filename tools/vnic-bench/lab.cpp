// vnic-bench lab: the whole comparison on one machine. It builds the two-namespace vnic lab and
// measures, one after the other, vnic with offloads on and off, a veth pair between the same two
// namespaces (the kernel's ceiling) and a socat TAP-over-UDP tunnel over that veth (what one
// would build instead), each with `client` against `server`; plus the storage floor, the cost of
// an idle vnicd, and how fast a node sees its peer die. Everything it set up is torn down at the
// end, on error and on SIGINT/SIGTERM.
#include <unistd.h>

#include <filesystem>
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
  void progress(std::string_view message) const { fmt::print(stderr, "vnic-bench lab: {}\n", message); }
  void interval(std::string_view path, std::string_view test, const ordered_json& figures);
  void vnic_paths(bool offload);
  void reference_paths();
  void dead_detection();
  void record_path(const PathSpec& path, const std::string& transport, ordered_json client_report);
  ordered_json start_object(const ordered_json& vnic_status) const;

  const LabPlan& plan_;
  const LabTools& tools_;
  ordered_json start_;
  ordered_json intervals_ = ordered_json::array();
  ordered_json end_ = {{"paths", ordered_json::object()}};
};

void LabRun::interval(std::string_view path, std::string_view test, const ordered_json& figures) {
  ordered_json copy = figures;
  copy.erase("histogram");
  intervals_.push_back({{"path", path}, {"test", test}, {"figures", copy}});
}

void LabRun::record_path(const PathSpec& path, const std::string& transport, ordered_json client_report) {
  ordered_json results = client_report.at("results");
  if (path.transport_pids.empty()) {
    for (const char* test : {"tcp_1stream", "tcp_4streams"})
      results[test]["transport_cpu_note"] = "no transport process: the kernel forwards between the namespaces";
  }
  append_intervals(intervals_, path.key, results);
  end_["paths"][path.key] = {{"label", path.label},
                             {"transport", transport},
                             {"transport_pids", client_report.at("transport_pids")},
                             {"client_namespace", path.client_ns},
                             {"server_namespace", path.server_ns},
                             {"server_address", path.server_address},
                             {"results", results}};
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
      {"addresses", "10.77.0.1/24 (a), 10.77.0.2/24 (b)"},
      {"note", "vnicd defaults except what vnic-lab sets (block size, engine, offload, backing)"}};
  start["paths"] = {{"vnic", "vnicd in each namespace, frames through two volume files (vnic-lab), offloads on"},
                    {"vnic_offload_off", "the same with vnicd --offload off"},
                    {"veth", "a veth pair between the same two namespaces, 10.77.20.0/24: the kernel's ceiling"},
                    {"socat", fmt::format("socat TAP (10.77.30.0/24, MTU 1500) over UDP over the veth pair (MTU {})",
                                          kTunnelUnderlayMtu)}};
  start["tools"] = {{"iperf3", program_version({"iperf3", "--version"})},
                    {"socat", program_version({"socat", "-V"})},
                    {"gnuplot", program_version({"gnuplot", "--version"})}};
  start["ratio_definition"] =
      "ratios.METRIC.vs_X = vnic's METRIC / X's METRIC from the same run (null when either is missing); "
      "ratios.offload_off holds the same for vnic with offloads off; vs_floor compares with the storage floor's "
      "write + read latency";
  return start;
}

void LabRun::vnic_paths(bool offload) {
  std::string key = offload ? "vnic" : "vnic_offload_off";
  std::string label = offload ? "vnic" : "vnic, offloads off";
  progress(fmt::format("[{}] vnic-lab up (offload {}, block size {}, engine {}, backing {})", label,
                       offload ? "on" : "off", plan_.block_size, plan_.engine, plan_.backing));
  VnicLab lab(tools_, plan_, offload);
  if (offload) {
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
  ordered_json report = measure_path(tools_, plan_, path, [this](std::string_view m) { progress(m); });
  DaemonCounters a1 = counters_from_status(lab.status('a')), b1 = counters_from_status(lab.status('b'));
  record_path(path, "vnicd of node a and node b", std::move(report));
  end_["vnic_volume"][offload ? "offload_on" : "offload_off"] = volume_figures(a0, a1, b0, b1);
  interval(key, "volume", end_["vnic_volume"][offload ? "offload_on" : "offload_off"]);
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
  vnic_paths(true);
  vnic_paths(false);
  reference_paths();
  dead_detection();
  end_["load_average"] = load_average();
  ordered_json report = {{"start", start_}, {"intervals", intervals_}, {"end", end_}};
  report["ratios"] = compute_ratios(end_);
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
  cmd->add_flag("--json", args->json, "Print only JSON on stdout (progress stays on stderr)");
  cmd->footer(
      "JSON: {start, intervals, end, ratios}. start: host, kernel, cpu_count, options, vnic_config, tools. intervals: "
      "{path, test, figures} per finished test. end: paths.{vnic, vnic_offload_off, veth, socat}.results (as `client "
      "--json`), floor, idle.{a,b}, dead_detection, vnic_volume.{offload_on, offload_off}.{a,b,both}, plot. ratios: "
      "METRIC.{vs_veth, vs_socat, vs_floor} = vnic / other, and ratios.offload_off.METRIC likewise.");
  return {cmd, [args] { return run_lab(*args); }};
}

}  // namespace vnic_bench
