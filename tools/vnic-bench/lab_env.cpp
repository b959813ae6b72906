#include "tools/vnic-bench/lab_env.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "tools/vnic-bench/find_program.h"
#include "tools/vnic-bench/stop_signal.h"

namespace vnic_bench {
namespace {

constexpr std::chrono::seconds kStepLimit{60};
constexpr const char* kTap = "vbtap0";

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool netns_exists(const std::string& ns) { return path_exists("/run/netns/" + ns); }

}  // namespace

LabTools find_lab_tools(const LabPlan& plan) {
  const char* hint = "scripts/install-deps.sh installs it";
  for (const char* program : {"ip", "iperf3", "socat"}) require_in_path(program, hint);
  if (plan.backing == "loop") require_in_path("losetup", hint);
  LabTools tools;
  tools.self = self_executable();
  tools.vnic_lab = find_vnic_lab_script();
  tools.vnicctl = find_vnicctl();
  tools.env.emplace_back("VNIC_LAB", plan.name);
  // The script takes vnicd from VNIC_BUILD: the build this vnic-bench belongs to, unless the
  // caller chose one.
  if (std::getenv("VNIC_BUILD") == nullptr) {
    if (auto build = own_build_dir()) tools.env.emplace_back("VNIC_BUILD", *build);
  }
  return tools;
}

vnic_tools::CapturedRun run_checked(const std::vector<std::string>& argv, const std::string& what, bool interruptible) {
  vnic_tools::CaptureOptions options;
  options.timeout = kStepLimit;
  if (interruptible) options.check_stop = throw_if_stopped;
  vnic_tools::CapturedRun run = vnic_tools::run_captured(argv, options);
  if (run.exit_code != 0) {
    std::string said = vnic_tools::last_line(run.err);
    throw std::runtime_error(
        fmt::format("{}: {}", what, said.empty() ? fmt::format("exited with status {}", run.exit_code) : said));
  }
  return run;
}

void run_teardown(const std::vector<std::string>& argv, const std::string& what) {
  try {
    run_checked(argv, what, false);
  } catch (const std::exception& error) {
    fmt::print(stderr, "vnic-bench lab: teardown: {}\n", error.what());
  }
}

// --- VnicLab ---

VnicLab::VnicLab(const LabTools& tools, const LabPlan& plan, bool offload)
    : tools_(tools), name_(plan.name), nodes_(plan.nodes) {
  bool taken = path_exists("/run/" + name_);
  for (char side : sides()) taken = taken || netns_exists(fmt_ns(side));
  if (taken)
    throw std::runtime_error(
        fmt::format("a lab named {} is already up (/run/{} or namespace {} exists; choose another --name, or "
                    "VNIC_LAB={} vnic-lab down)",
                    name_, name_, fmt_ns('a'), name_));
  std::vector<std::string> argv = {tools.vnic_lab, "up",        "--block-size",         plan.block_size, "--io-engine",
                                   plan.engine,    "--offload", offload ? "on" : "off", "--backing",     plan.backing};
  if (shared()) argv.insert(argv.end(), {"--shared", "--nodes", std::to_string(nodes_)});
  vnic_tools::CaptureOptions options;
  options.check_stop = throw_if_stopped;
  options.timeout = kStepLimit;
  options.env = tools.env;
  try {
    vnic_tools::CapturedRun run = vnic_tools::run_captured(argv, options);
    if (run.exit_code != 0) throw std::runtime_error(fmt::format("vnic-lab up: {}", vnic_tools::last_line(run.err)));
  } catch (...) {
    // A failed or interrupted `up` may have left namespaces, daemons and volumes behind.
    down();
    throw;
  }
}

VnicLab::~VnicLab() { down(); }

std::vector<char> VnicLab::sides() const {
  std::vector<char> all;
  for (unsigned i = 0; i < std::max(2u, nodes_); ++i) all.push_back(static_cast<char>('a' + i));
  return all;
}

void VnicLab::down() {
  std::vector<std::string> argv = {"env"};
  for (const auto& [key, value] : tools_.env) argv.push_back(key + "=" + value);
  argv.insert(argv.end(), {tools_.vnic_lab, "down"});
  run_teardown(argv, "vnic-lab down");
}

pid_t VnicLab::daemon_pid(char side) const {
  std::string path = fmt::format("/run/{}/{}.pid", name_, side);
  std::ifstream in(path);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) throw std::runtime_error(fmt::format("{}: no vnicd pid", path));
  return static_cast<pid_t>(pid);
}

nlohmann::json VnicLab::status(char side) const {
  std::string socket = fmt::format("/run/{}/{}.sock", name_, side);
  vnic_tools::CapturedRun run = run_checked({tools_.vnicctl, "status", "--socket", socket, "--json"},
                                fmt::format("vnicctl status --socket {}", socket));
  try {
    return nlohmann::json::parse(run.out);
  } catch (const nlohmann::json::exception& error) {
    throw std::runtime_error(fmt::format("vnicctl status --socket {}: not JSON: {}", socket, error.what()));
  }
}

// --- NamespacePair ---

NamespacePair::NamespacePair(const std::string& name) : name_(name) {
  for (char side : {'a', 'b'}) {
    if (netns_exists(ns(side)))
      throw std::runtime_error(fmt::format("namespace {} exists already (another lab named {}?)", ns(side), name));
  }
  for (char side : {'a', 'b'}) {
    run_checked({"ip", "netns", "add", ns(side)}, "ip netns add " + ns(side));
    created_.push_back(ns(side));
    run_checked({"ip", "-n", ns(side), "link", "set", "lo", "up"}, "loopback in " + ns(side));
    // As vnic-lab does: IPv6 autoconfiguration would add chatter to every path.
    run_checked({"ip", "netns", "exec", ns(side), "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                 "net.ipv6.conf.default.disable_ipv6=1"},
                "disabling IPv6 in " + ns(side));
  }
}

NamespacePair::~NamespacePair() {
  // Deleting a namespace takes its veth and TAP with it.
  for (const std::string& ns : created_) run_teardown({"ip", "netns", "del", ns}, "ip netns del " + ns);
}

void NamespacePair::add_veth() {
  run_checked({"ip", "-n", ns('a'), "link", "add", "veth0", "type", "veth", "peer", "name", "veth0", "netns", ns('b')},
              "creating the veth pair");
  for (char side : {'a', 'b'}) {
    run_checked({"ip", "-n", ns(side), "addr", "add", veth_address(side) + "/24", "dev", "veth0"},
                "veth address in " + ns(side));
    run_checked({"ip", "-n", ns(side), "link", "set", "veth0", "up"}, "veth up in " + ns(side));
  }
}

void NamespacePair::set_veth_mtu(unsigned mtu) {
  for (char side : {'a', 'b'})
    run_checked({"ip", "-n", ns(side), "link", "set", "veth0", "mtu", std::to_string(mtu)}, "veth MTU in " + ns(side));
}

// --- SocatTunnel ---

vnic_tools::ChildProcess SocatTunnel::start(const NamespacePair& namespaces, char side, uint16_t udp_port) {
  char peer = side == 'a' ? 'b' : 'a';
  std::string tun = fmt::format("TUN:{}/24,tun-type=tap,tun-name={},iff-up,iff-no-pi", address(side), kTap);
  // UDP-DATAGRAM (not a connected UDP socket): an ICMP error while the other end starts must not
  // end socat.
  std::string udp = fmt::format("UDP-DATAGRAM:{}:{},bind={}:{}", NamespacePair::veth_address(peer), udp_port,
                                NamespacePair::veth_address(side), udp_port);
  vnic_tools::ChildOptions options;
  options.err = vnic_tools::ChildOutput::pipe;
  return vnic_tools::ChildProcess::spawn({"ip", "netns", "exec", namespaces.ns(side), "socat", tun, udp}, options);
}

SocatTunnel::SocatTunnel(const NamespacePair& namespaces, uint16_t udp_port) {
  b_ = start(namespaces, 'b', udp_port);
  a_ = start(namespaces, 'a', udp_port);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (char side : {'a', 'b'}) {
    for (;;) {
      check_alive();
      throw_if_stopped();
      vnic_tools::CaptureOptions options;
      options.check_stop = throw_if_stopped;
      options.timeout = std::chrono::seconds(10);
      if (vnic_tools::run_captured({"ip", "-n", namespaces.ns(side), "link", "show", kTap}, options).exit_code == 0) break;
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error(fmt::format("socat in {}: no {} after 10 s", namespaces.ns(side), kTap));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

SocatTunnel::~SocatTunnel() {
  a_.stop();
  b_.stop();
}

void SocatTunnel::check_alive() {
  for (vnic_tools::ChildProcess* child : {&a_, &b_}) {
    if (!child->exited()) continue;
    vnic_tools::OutputPump pump(*child);
    while (pump.pump(std::chrono::milliseconds(0))) {
    }
    throw std::runtime_error(fmt::format("socat {}: exited with status {}: {}", child == &a_ ? "a" : "b",
                                         child->exit_code(), vnic_tools::last_line(pump.err)));
  }
}

}  // namespace vnic_bench
