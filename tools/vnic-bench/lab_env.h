// What `vnic-bench lab` builds and always tears down again: the vnic lab (through the vnic-lab
// script, two namespaces with a vnicd each), and for the reference paths the same two namespaces
// without vnicd, joined by a veth pair and optionally a socat TAP-over-UDP tunnel over it. Every
// object undoes its own setup in its destructor, so an error or Ctrl-C anywhere leaves nothing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/common/child_process.h"
#include "tools/vnic-bench/lab_options.h"

namespace vnic_bench {

// The programs the lab drives, found once before anything is set up.
struct LabTools {
  std::string self;      // this binary, run again inside the namespaces
  std::string vnic_lab;  // the vnic-lab script
  std::string vnicctl;
  std::vector<std::pair<std::string, std::string>> env;  // VNIC_LAB, VNIC_BUILD for the script
};

// Throws std::runtime_error naming the first program that is missing (ip, iperf3, socat, ...).
LabTools find_lab_tools(const LabPlan& plan);

// Runs a command to its end; throws std::runtime_error("WHAT: its last stderr line") unless it
// exits 0. `interruptible` false: a teardown step, which must finish even after Ctrl-C.
vnic_tools::CapturedRun run_checked(const std::vector<std::string>& argv, const std::string& what, bool interruptible = true);

// Inverse of a setup step, for destructors: runs it, says on stderr if it failed, never throws.
void run_teardown(const std::vector<std::string>& argv, const std::string& what);

class VnicLab {
 public:
  // `vnic-lab up` with the plan's block size, engine and backing. Refuses (touching nothing) when
  // a lab of that name is already up; tears down whatever a failed `up` left.
  VnicLab(const LabTools& tools, const LabPlan& plan, bool offload);
  ~VnicLab();
  VnicLab(const VnicLab&) = delete;
  VnicLab& operator=(const VnicLab&) = delete;

  std::string ns(char side) const { return fmt_ns(side); }
  // vnic-lab's addresses: node a is .1, b .2, and so on.
  std::string address(char side) const { return "10.77.0." + std::to_string(side - 'a' + 1); }
  // a and b; a shared LUN's further nodes c, d, ...
  std::vector<char> sides() const;
  bool shared() const { return nodes_ > 0; }
  pid_t daemon_pid(char side) const;
  std::string volume_dir() const { return "/var/tmp/" + name_; }
  // vnicctl status --json of that side's vnicd.
  nlohmann::json status(char side) const;

 private:
  std::string fmt_ns(char side) const { return name_ + "-" + side; }
  void down();

  const LabTools& tools_;
  std::string name_;
  unsigned nodes_ = 0;  // LabPlan::nodes
};

// NAME-a and NAME-b as vnic-lab makes them (loopback up, IPv6 off), without vnicd.
class NamespacePair {
 public:
  // Refuses when either namespace exists already (someone else's lab).
  explicit NamespacePair(const std::string& name);
  ~NamespacePair();
  NamespacePair(const NamespacePair&) = delete;
  NamespacePair& operator=(const NamespacePair&) = delete;

  std::string ns(char side) const { return name_ + "-" + side; }

  // veth0 in each, 10.77.20.1/24 (a) and 10.77.20.2/24 (b).
  void add_veth();
  void set_veth_mtu(unsigned mtu);
  static std::string veth_address(char side) { return side == 'a' ? "10.77.20.1" : "10.77.20.2"; }

 private:
  std::string name_;
  std::vector<std::string> created_;
};

// socat TUN:10.77.30.x/24,tun-type=tap in each namespace, exchanging the frames as UDP datagrams
// on `udp_port` over the veth pair: the userspace tunnel someone would build instead of vnic.
class SocatTunnel {
 public:
  SocatTunnel(const NamespacePair& namespaces, uint16_t udp_port);
  ~SocatTunnel();
  SocatTunnel(const SocatTunnel&) = delete;
  SocatTunnel& operator=(const SocatTunnel&) = delete;

  pid_t pid(char side) const { return side == 'a' ? a_.pid() : b_.pid(); }
  static std::string address(char side) { return side == 'a' ? "10.77.30.1" : "10.77.30.2"; }
  // Throws std::runtime_error with socat's own words when either has exited.
  void check_alive();

 private:
  vnic_tools::ChildProcess start(const NamespacePair& namespaces, char side, uint16_t udp_port);

  vnic_tools::ChildProcess a_;
  vnic_tools::ChildProcess b_;
};

}  // namespace vnic_bench
