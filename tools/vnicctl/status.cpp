// vnicctl status: asks a running vnicd over its control socket and shows the answer, as a table
// for people or as the daemon's JSON for scripts.
#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "control/control_client.h"
#include "control/control_protocol.h"
#include "control/status_keys.h"
#include "tools/vnicctl/commands.h"

namespace vnicctl {
namespace {

using nlohmann::json;
namespace keys = vnic_control::keys;

struct StatusOptions {
  std::string ifname = "vnic0";
  std::string socket;
  bool as_json = false;
};

std::string num(const json& v) {
  if (v.is_number_float()) return fmt::format("{:.2f}", v.get<double>());
  if (v.is_null()) return "-";
  return v.is_string() ? v.get<std::string>() : v.dump();
}

void row(const std::string& name, const std::string& value) { fmt::print("  {:<34} {}\n", name, value); }

void print_latency(const std::string& name, const json& l) {
  if (l.is_null() || l.value(keys::kCount, 0) == 0) {
    row(name, "-");
    return;
  }
  row(name, fmt::format("p50 {} us, p99 {} us, max {} us ({} samples)", num(l[keys::kP50Us]), num(l[keys::kP99Us]),
                        num(l[keys::kMaxUs]), num(l[keys::kCount])));
}

// One line: which key seals, which one more is accepted, and what was refused (a daemon from
// before authentication existed has no "auth").
void print_auth(const json& s) {
  if (!s.contains(keys::kAuth)) return;
  const json& a = s[keys::kAuth];
  if (!a.value(keys::kEnabled, false)) {
    fmt::print("auth: off");
  } else {
    fmt::print("auth: key id {}{}, {}", num(a[keys::kKeyId]),
               a.contains(keys::kAcceptKeyId) ? ", also accepting " + num(a[keys::kAcceptKeyId]) : "",
               a.value(keys::kEncrypt, false) ? "encrypted" : "authenticated (not encrypted)");
  }
  const json& c = s[keys::kCounters];
  const json& rx = s[keys::kRx];
  fmt::print("; refused: {} state records, {} blocks\n", num(c.value(keys::kStateAuthFailed, json(0))),
             rx.is_null() ? "0"
                          : std::to_string(rx.value(keys::kAuthFailedBlocks, uint64_t{0}) +
                                           rx.value(keys::kAuthNoKeyBlocks, uint64_t{0})));
}

// One line: the scheduling policy and memory lock in force, against what was asked for (a daemon
// from before they existed has no "process").
void print_process(const json& s) {
  if (!s.contains(keys::kProcess)) return;
  const json& p = s[keys::kProcess];
  std::string policy = num(p[keys::kScheduling]);
  if (policy == "SCHED_RR" || policy == "SCHED_FIFO") policy += " priority " + num(p[keys::kSchedulingPriority]);
  fmt::print(
      "process: {} (asked: {}), memory locked: {} (asked: {})\n", policy,
      p.value(keys::kRealtime, false) ? "SCHED_RR priority " + num(p[keys::kPriority]) : std::string("realtime off"),
      num(p[keys::kMemoryLocked]), p.value(keys::kLockMemory, false) ? "yes" : "no");
}

void print_table(const json& s) {
  const json& i = s[keys::kInterface];
  fmt::print("{}: carrier {}, admin {}, offloads {}\n", num(i[keys::kName]),
             i[keys::kCarrier].get<bool>() ? "on" : "off", i[keys::kAdminUp].get<bool>() ? "up" : "down",
             num(i[keys::kOffloads]));
  const json& p = s[keys::kPeer];
  fmt::print("peer: {} for {:.1f} s", num(p[keys::kState]), p[keys::kSinceMs].get<double>() / 1000.0);
  if (p.contains(keys::kEpoch))
    fmt::print(", epoch {}, heartbeat {}, head {}", num(p[keys::kEpoch]), num(p[keys::kHeartbeat]),
               num(p[keys::kHead]));
  fmt::print("\nvolumes: send {}, recv {}, engine {}, {}-byte blocks, {}\n", num(s[keys::kVolumes][keys::kSend]),
             num(s[keys::kVolumes][keys::kRecv]), num(s[keys::kVolumes][keys::kEngine]),
             num(s[keys::kVolumes][keys::kBlockSize]), num(s[keys::kVolumes][keys::kBacking]));
  print_auth(s);
  print_process(s);
  const json& tx = s[keys::kTx];
  fmt::print("tx (to the send volume):\n");
  row("epoch", num(tx[keys::kEpoch]));
  row("next / durable / acked", fmt::format("{} / {} / {}", num(tx[keys::kNextSequence]), num(tx[keys::kDurableHead]),
                                            num(tx[keys::kAckedByPeer])));
  row("ring occupancy", fmt::format("{} of {} blocks", num(tx[keys::kRingOccupancy]), num(tx[keys::kRingBlocks])));
  row("frames / bytes", fmt::format("{} / {}", num(tx[keys::kFrames]), num(tx[keys::kBytes])));
  row("blocks / volume bytes", fmt::format("{} / {}", num(tx[keys::kBlocks]), num(tx[keys::kVolumeBytes])));
  row("padding amplification", num(tx[keys::kPaddingAmplification]));
  row("block fill ratio", num(tx[keys::kBlockFillRatio]));
  const json& f = tx[keys::kFlushReasons];
  row("flushes full/idle/freed/deadline", fmt::format("{} / {} / {} / {}", num(f[keys::kFull]), num(f[keys::kIdle]),
                                                      num(f[keys::kSlotFreed]), num(f[keys::kDeadline])));
  print_latency("write latency", tx[keys::kWriteLatency]);
  const json& rx = s[keys::kRx];
  fmt::print("rx (from the receive volume):\n");
  if (rx.is_null()) {
    row("reader", "waiting for the receive volume to be formatted");
  } else {
    row("epoch / next sequence", fmt::format("{} / {}", num(rx[keys::kEpoch]), num(rx[keys::kNextSequence])));
    row("frames / bytes", fmt::format("{} / {}", num(rx[keys::kFrames]), num(rx[keys::kBytes])));
    row("blocks / reads / empty polls",
        fmt::format("{} / {} / {}", num(rx[keys::kBlocks]), num(rx[keys::kReads]), num(rx[keys::kEmptyPolls])));
    row("crc rereads / corrupt", fmt::format("{} / {}", num(rx[keys::kCrcRereads]), num(rx[keys::kCorruptBlocks])));
    row("resyncs lapped / epochs", fmt::format("{} / {}", num(rx[keys::kLappedResyncs]), num(rx[keys::kEpochChanges])));
    print_latency("delivery age", rx[keys::kDeliveryAge]);
  }
  fmt::print("drops:\n");
  for (const auto& [reason, count] : s[keys::kDrops].items()) row(reason, num(count));
}

int run_status(const StatusOptions& o) {
  std::string socket = o.socket.empty() ? "/run/vnic/" + o.ifname + ".sock" : o.socket;
  json reply = vnic_control::control_request(socket, {{vnic_control::kCommandKey, vnic_control::kStatusCommand}});
  if (reply.contains(vnic_control::kErrorKey))
    throw std::runtime_error(fmt::format("{}: {}", socket, reply[vnic_control::kErrorKey].get<std::string>()));
  if (o.as_json) {
    fmt::print("{}\n", reply.dump(2));
  } else {
    print_table(reply);
  }
  return 0;
}

}  // namespace

vnic_tools::Subcommand add_status_command(CLI::App& app) {
  auto options = std::make_shared<StatusOptions>();
  CLI::App* cmd = app.add_subcommand("status", "Show a running vnicd's link, peer and counters");
  cmd->add_option("ifname", options->ifname, "interface name (its socket is /run/vnic/IFNAME.sock)");
  cmd->add_option("--socket", options->socket, "control socket path (instead of the interface's)");
  cmd->add_flag("--json", options->as_json, "print the daemon's JSON");
  return {cmd, [options] { return run_status(*options); }};
}

}  // namespace vnicctl
