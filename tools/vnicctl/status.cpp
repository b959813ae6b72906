// vnicctl status: asks a running vnicd over its control socket and shows the answer, as a table
// for people or as the daemon's JSON for scripts.
#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "control/control_client.h"
#include "control/control_protocol.h"
#include "tools/vnicctl/commands.h"

namespace vnicctl {
namespace {

using nlohmann::json;

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
  if (l.is_null() || l.value("count", 0) == 0) {
    row(name, "-");
    return;
  }
  row(name, fmt::format("p50 {} us, p99 {} us, max {} us ({} samples)", num(l["p50_us"]), num(l["p99_us"]),
                        num(l["max_us"]), num(l["count"])));
}

// One line: which key seals, which one more is accepted, and what was refused (a daemon from
// before authentication existed has no "auth").
void print_auth(const json& s) {
  if (!s.contains("auth")) return;
  const json& a = s["auth"];
  if (!a.value("enabled", false)) {
    fmt::print("auth: off");
  } else {
    fmt::print("auth: key id {}{}, {}", num(a["key_id"]),
               a.contains("accept_key_id") ? ", also accepting " + num(a["accept_key_id"]) : "",
               a.value("encrypt", false) ? "encrypted" : "authenticated (not encrypted)");
  }
  const json& c = s["counters"];
  const json& rx = s["rx"];
  fmt::print("; refused: {} state records, {} blocks\n", num(c.value("state_auth_failed", json(0))),
             rx.is_null() ? "0"
                          : std::to_string(rx.value("auth_failed_blocks", uint64_t{0}) +
                                           rx.value("auth_no_key_blocks", uint64_t{0})));
}

// One line: the scheduling policy and memory lock in force, against what was asked for (a daemon
// from before they existed has no "process").
void print_process(const json& s) {
  if (!s.contains("process")) return;
  const json& p = s["process"];
  std::string policy = num(p["scheduling"]);
  if (policy == "SCHED_RR" || policy == "SCHED_FIFO") policy += " priority " + num(p["scheduling_priority"]);
  fmt::print("process: {} (asked: {}), memory locked: {} (asked: {})\n", policy,
             p.value("realtime", false) ? "SCHED_RR priority " + num(p["priority"]) : std::string("realtime off"),
             num(p["memory_locked"]), p.value("lock_memory", false) ? "yes" : "no");
}

void print_table(const json& s) {
  const json& i = s["interface"];
  fmt::print("{}: carrier {}, admin {}, offloads {}\n", num(i["name"]), i["carrier"].get<bool>() ? "on" : "off",
             i["admin_up"].get<bool>() ? "up" : "down", num(i["offloads"]));
  const json& p = s["peer"];
  fmt::print("peer: {} for {:.1f} s", num(p["state"]), p["since_ms"].get<double>() / 1000.0);
  if (p.contains("epoch"))
    fmt::print(", epoch {}, heartbeat {}, head {}", num(p["epoch"]), num(p["heartbeat"]), num(p["head"]));
  fmt::print("\nvolumes: send {}, recv {}, engine {}, {}-byte blocks, {}\n", num(s["volumes"]["send"]),
             num(s["volumes"]["recv"]), num(s["volumes"]["engine"]), num(s["volumes"]["block_size"]),
             num(s["volumes"]["backing"]));
  print_auth(s);
  print_process(s);
  const json& tx = s["tx"];
  fmt::print("tx (to the send volume):\n");
  row("epoch", num(tx["epoch"]));
  row("next / durable / acked",
      fmt::format("{} / {} / {}", num(tx["next_sequence"]), num(tx["durable_head"]), num(tx["acked_by_peer"])));
  row("ring occupancy", fmt::format("{} of {} blocks", num(tx["ring_occupancy"]), num(tx["ring_blocks"])));
  row("frames / bytes", fmt::format("{} / {}", num(tx["frames"]), num(tx["bytes"])));
  row("blocks / volume bytes", fmt::format("{} / {}", num(tx["blocks"]), num(tx["volume_bytes"])));
  row("padding amplification", num(tx["padding_amplification"]));
  row("block fill ratio", num(tx["block_fill_ratio"]));
  const json& f = tx["flush_reasons"];
  row("flushes full/idle/freed/deadline",
      fmt::format("{} / {} / {} / {}", num(f["full"]), num(f["idle"]), num(f["slot_freed"]), num(f["deadline"])));
  print_latency("write latency", tx["write_latency"]);
  const json& rx = s["rx"];
  fmt::print("rx (from the receive volume):\n");
  if (rx.is_null()) {
    row("reader", "waiting for the receive volume to be formatted");
  } else {
    row("epoch / next sequence", fmt::format("{} / {}", num(rx["epoch"]), num(rx["next_sequence"])));
    row("frames / bytes", fmt::format("{} / {}", num(rx["frames"]), num(rx["bytes"])));
    row("blocks / reads / empty polls",
        fmt::format("{} / {} / {}", num(rx["blocks"]), num(rx["reads"]), num(rx["empty_polls"])));
    row("crc rereads / corrupt", fmt::format("{} / {}", num(rx["crc_rereads"]), num(rx["corrupt_blocks"])));
    row("resyncs lapped / epochs", fmt::format("{} / {}", num(rx["lapped_resyncs"]), num(rx["epoch_changes"])));
    print_latency("delivery age", rx["delivery_age"]);
  }
  fmt::print("drops:\n");
  for (const auto& [reason, count] : s["drops"].items()) row(reason, num(count));
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
