// vnicd's configuration: a JSON file and the same options as flags, flags winning. Every bad key
// or value is refused with its path and what was expected.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vnicd {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Config {
  std::string ifname = "vnic0";
  // A mirrored pair: the volume this node writes and the mirror of the peer's it reads.
  std::string send_path;
  std::string recv_path;
  // Or a shared LUN: one volume every node reads, this node writing `slot` (docs/CONFIG.md).
  std::string volume;
  std::optional<uint32_t> slot;
  std::string node_name;  // in our slot's record, for the slot claim and for people; default: the host name
  // A shared LUN: a live node whose reader does not consume for this long while our ring is full
  // for it is lapped (it counts its loss) rather than holding every other node's traffic.
  unsigned lap_after_ms = 500;
  std::vector<std::string> addresses;  // CIDR, IPv4 or IPv6
  std::optional<unsigned> mtu;
  // Frames the kernel queues on the TAP for vnicd (`ip link set IFNAME txqueuelen N`); unset keeps
  // the kernel's default (1000). Kept across restarts, which an `ip link` setting is not.
  std::optional<unsigned> tx_queue_len;
  std::optional<std::string> mac;  // default: derived from the send volume's UUID and slot
  std::string io_engine = "auto";
  std::string control_socket;  // default: /run/vnic/IFNAME.sock

  // Least privilege (daemon/privileges.h): the socket's group (then mode 0660, else 0600), and who
  // vnicd runs as once everything is open (default: it stays root; group: the user's primary one).
  std::optional<std::string> control_socket_group;
  std::optional<std::string> user;
  std::optional<std::string> group;

  bool format_if_empty = false;
  std::optional<uint32_t> block_size;  // checked against the send volume; used by format_if_empty
  std::string log_level = "info";
  bool offload = true;
  std::string sync = "none";  // none, odsync (O_DSYNC) or rwf-dsync (RWF_DSYNC per write)
  uint32_t send_slot = 0;
  uint32_t peer_slot = 0;
  unsigned queue_depth = 8;
  unsigned heartbeat_interval_ms = 100;
  unsigned dead_after_ms = 1000;
  unsigned max_frame_age_ms = 2000;
  unsigned flush_deadline_us = 200;
  unsigned poll_spin_us = 2000;
  unsigned poll_max_interval_us = 10000;
  // How long a block that does not become valid is re-read, once the writer is known past it,
  // before it is skipped and counted: above the worst lag of an asynchronous array mirror.
  unsigned torn_timeout_ms = 100;
  // Authenticated blocks and state records (docs/SECURITY.md): the key this node seals with, one
  // more accepted for a rolling key change, and whether the records are encrypted too.
  std::optional<std::string> key_file;
  std::optional<std::string> accept_key_file;
  bool encrypt = false;
  // Keeping the heartbeat going on a starved node (daemon/realtime.h): SCHED_RR at `priority`,
  // below corosync's 99 and the kernel's threaded interrupt handlers (FIFO 50); memory locked.
  // Asked for, never required: a refusal is a warning and a fallback.
  bool realtime = true;
  unsigned priority = 40;
  bool lock_memory = true;
  // A clean stop leaves the (persistent) interface in place without carrier, with its addresses,
  // as a NIC outlives its driver's restart; false removes it at a clean stop.
  bool keep_interface = true;
  bool key_flags_given = false;            // the key options came from flags: SIGHUP keeps them (flags win)
  std::optional<std::string> config_path;  // where it was loaded from, for SIGHUP

  std::string effective_control_socket() const;
  bool shared() const { return !volume.empty(); }
  std::string effective_node_name() const;
};

// Parses argv (vnicd's flags); a --config file is read first and the flags laid over it.
// Throws ConfigError with one line; --help / --version print and return nullopt.
std::optional<Config> parse_command_line(int argc, char** argv);

// Reads a JSON config file into `config` (over its defaults); throws ConfigError naming the file
// and the key.
void load_config_file(const std::string& path, Config& config);

// The same from JSON text already in memory (what load_config_file parses, and what the fuzz
// target feeds); `origin` names the text in messages. Leaves config_path alone.
void load_config_text(std::string_view text, const std::string& origin, Config& config);

// Checks ranges and relations between options (dead_after >= 3 heartbeats, a CIDR that parses,
// accounts that exist, ...); throws ConfigError naming the option.
void validate(const Config& config);

}  // namespace vnicd
