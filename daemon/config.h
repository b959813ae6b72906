// vnicd's configuration: a JSON file and the same options as flags, flags winning. Every bad key
// or value is refused with its path and what was expected.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vnicd {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Config {
  std::string ifname = "vnic0";
  std::string send_path;
  std::string recv_path;
  std::vector<std::string> addresses;  // CIDR, IPv4 or IPv6
  std::optional<unsigned> mtu;
  std::optional<std::string> mac;  // default: derived from the send volume's UUID and slot
  std::string io_engine = "auto";
  std::string control_socket;  // default: /run/vnic/IFNAME.sock
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
  std::optional<std::string> config_path;  // where it was loaded from, for SIGHUP

  std::string effective_control_socket() const;
};

// Parses argv (vnicd's flags); a --config file is read first and the flags laid over it.
// Throws ConfigError with one line; --help / --version print and return nullopt.
std::optional<Config> parse_command_line(int argc, char** argv);

// Reads a JSON config file into `config` (over its defaults); throws ConfigError naming the file
// and the key.
void load_config_file(const std::string& path, Config& config);

// Checks ranges and relations between options (dead_after >= 3 heartbeats, a CIDR that parses,
// ...); throws ConfigError naming the option.
void validate(const Config& config);

}  // namespace vnicd
