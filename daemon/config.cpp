#include "daemon/config.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <functional>
#include <map>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/privileges.h"

namespace vnicd {
namespace {

using json = nlohmann::json;
using Setter = std::function<void(const json&, Config&)>;

// The TAP keeps its queue in one kmalloc'ed ring of pointers, which the kernel caps at 4 MiB.
constexpr unsigned kMaxTxQueueLen = 524288;
// SCHED_RR's range on Linux (sched_get_priority_min/max).
constexpr unsigned kMinPriority = 1;
constexpr unsigned kMaxPriority = 99;
// Below 10 ms a block the mirror is still copying is skipped as damaged; a minute is an outage.
constexpr unsigned kMinTornTimeoutMs = 10;
constexpr unsigned kMaxTornTimeoutMs = 60000;

// --offload, --realtime, ...: "on" or "off".
bool parse_on_off(const std::string& flag, const std::string& value) {
  if (value != "on" && value != "off")
    throw ConfigError(fmt::format("{} '{}': expected on or off", flag, value));
  return value == "on";
}

std::string type_name(const json& v) { return v.type_name(); }

// Each setter throws std::invalid_argument with what it expected; the caller adds file and key.
template <typename T>
T get_unsigned(const json& v, uint64_t min, uint64_t max) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    throw std::invalid_argument(fmt::format("expected a whole number from {} to {}, got {}", min, max, v.dump()));
  auto n = v.get<uint64_t>();
  if (n < min || n > max)
    throw std::invalid_argument(fmt::format("expected a whole number from {} to {}, got {}", min, max, n));
  return static_cast<T>(n);
}

std::string get_string(const json& v) {
  if (!v.is_string()) throw std::invalid_argument(fmt::format("expected a string, got {}", type_name(v)));
  return v.get<std::string>();
}

bool get_bool(const json& v) {
  if (!v.is_boolean()) throw std::invalid_argument(fmt::format("expected true or false, got {}", v.dump()));
  return v.get<bool>();
}

const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> table = {
      {"ifname", [](const json& v, Config& c) { c.ifname = get_string(v); }},
      {"send", [](const json& v, Config& c) { c.send_path = get_string(v); }},
      {"recv", [](const json& v, Config& c) { c.recv_path = get_string(v); }},
      {"addresses",
       [](const json& v, Config& c) {
         if (!v.is_array())
           throw std::invalid_argument(fmt::format("expected an array of CIDR strings, got {}", type_name(v)));
         c.addresses.clear();
         for (const auto& a : v) c.addresses.push_back(get_string(a));
       }},
      {"mtu", [](const json& v, Config& c) { c.mtu = get_unsigned<unsigned>(v, 68, 65521); }},
      {"tx_queue_len", [](const json& v, Config& c) { c.tx_queue_len = get_unsigned<unsigned>(v, 1, kMaxTxQueueLen); }},
      {"mac", [](const json& v, Config& c) { c.mac = get_string(v); }},
      {"io_engine", [](const json& v, Config& c) { c.io_engine = get_string(v); }},
      {"control_socket", [](const json& v, Config& c) { c.control_socket = get_string(v); }},
      {"control_socket_group", [](const json& v, Config& c) { c.control_socket_group = get_string(v); }},
      {"user", [](const json& v, Config& c) { c.user = get_string(v); }},
      {"group", [](const json& v, Config& c) { c.group = get_string(v); }},
      {"format_if_empty", [](const json& v, Config& c) { c.format_if_empty = get_bool(v); }},
      {"block_size", [](const json& v, Config& c) { c.block_size = get_unsigned<uint32_t>(v, 4096, 1u << 20); }},
      {"log_level", [](const json& v, Config& c) { c.log_level = get_string(v); }},
      {"offload", [](const json& v, Config& c) { c.offload = get_bool(v); }},
      {"sync", [](const json& v, Config& c) { c.sync = get_string(v); }},
      {"volume", [](const json& v, Config& c) { c.volume = get_string(v); }},
      {"slot", [](const json& v, Config& c) { c.slot = get_unsigned<uint32_t>(v, 0, 63); }},
      {"node_name", [](const json& v, Config& c) { c.node_name = get_string(v); }},
      {"lap_after_ms", [](const json& v, Config& c) { c.lap_after_ms = get_unsigned<unsigned>(v, 10, 60000); }},
      {"send_slot", [](const json& v, Config& c) { c.send_slot = get_unsigned<uint32_t>(v, 0, 63); }},
      {"peer_slot", [](const json& v, Config& c) { c.peer_slot = get_unsigned<uint32_t>(v, 0, 63); }},
      {"queue_depth", [](const json& v, Config& c) { c.queue_depth = get_unsigned<unsigned>(v, 1, 32); }},
      {"heartbeat_interval_ms",
       [](const json& v, Config& c) { c.heartbeat_interval_ms = get_unsigned<unsigned>(v, 10, 60000); }},
      {"dead_after_ms", [](const json& v, Config& c) { c.dead_after_ms = get_unsigned<unsigned>(v, 30, 600000); }},
      {"max_frame_age_ms", [](const json& v, Config& c) { c.max_frame_age_ms = get_unsigned<unsigned>(v, 1, 600000); }},
      {"flush_deadline_us",
       [](const json& v, Config& c) { c.flush_deadline_us = get_unsigned<unsigned>(v, 0, 1000000); }},
      {"poll_spin_us", [](const json& v, Config& c) { c.poll_spin_us = get_unsigned<unsigned>(v, 0, 1000000); }},
      {"poll_max_interval_us",
       [](const json& v, Config& c) { c.poll_max_interval_us = get_unsigned<unsigned>(v, 10, 1000000); }},
      {"torn_timeout_ms",
       [](const json& v, Config& c) { c.torn_timeout_ms = get_unsigned<unsigned>(v, kMinTornTimeoutMs, kMaxTornTimeoutMs); }},
      {"key_file", [](const json& v, Config& c) { c.key_file = get_string(v); }},
      {"accept_key_file", [](const json& v, Config& c) { c.accept_key_file = get_string(v); }},
      {"encrypt", [](const json& v, Config& c) { c.encrypt = get_bool(v); }},
      {"realtime", [](const json& v, Config& c) { c.realtime = get_bool(v); }},
      {"priority", [](const json& v, Config& c) { c.priority = get_unsigned<unsigned>(v, kMinPriority, kMaxPriority); }},
      {"lock_memory", [](const json& v, Config& c) { c.lock_memory = get_bool(v); }},
      {"keep_interface", [](const json& v, Config& c) { c.keep_interface = get_bool(v); }},
  };
  return table;
}

bool valid_cidr(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos || slash + 1 >= text.size()) return false;
  std::string host = text.substr(0, slash);
  unsigned prefix = 0;
  auto tail = text.data() + text.size();
  auto [end, error] = std::from_chars(text.data() + slash + 1, tail, prefix);
  if (error != std::errc{} || end != tail) return false;
  unsigned char buffer[16];
  if (inet_pton(AF_INET, host.c_str(), buffer) == 1) return prefix <= 32;
  if (inet_pton(AF_INET6, host.c_str(), buffer) == 1) return prefix <= 128;
  return false;
}

}  // namespace

std::string Config::effective_control_socket() const {
  return control_socket.empty() ? "/run/vnic/" + ifname + ".sock" : control_socket;
}

std::string Config::effective_node_name() const {
  if (!node_name.empty()) return node_name;
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) != 0) return {};
  return host;
}

void load_config_text(std::string_view text, const std::string& origin, Config& config) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {  // not only parse_error: 1e999 is an out_of_range
    throw ConfigError(fmt::format("config {}: not valid JSON: {}", origin, e.what()));
  }
  if (!doc.is_object()) throw ConfigError(fmt::format("config {}: expected a JSON object at the top", origin));
  for (const auto& [key, value] : doc.items()) {
    auto it = setters().find(key);
    if (it == setters().end()) throw ConfigError(fmt::format("config {}: unknown key '{}'", origin, key));
    try {
      it->second(value, config);
    } catch (const std::exception& e) {
      throw ConfigError(fmt::format("config {}: '{}': {}", origin, key, e.what()));
    }
  }
}

void load_config_file(const std::string& path, Config& config) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("config {}: cannot open: {}", path, std::strerror(errno)));
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  load_config_text(text, path, config);
  config.config_path = path;
}

void validate(const Config& c) {
  auto fail = [](std::string message) { throw ConfigError(std::move(message)); };
  if (c.ifname.empty() || c.ifname.size() >= IFNAMSIZ || c.ifname.find_first_of("/ \t\n:") != std::string::npos)
    fail(fmt::format("ifname '{}': not a valid interface name (1 to {} characters, no '/', ':' or spaces)", c.ifname,
                     IFNAMSIZ - 1));
  if (c.shared()) {
    if (!c.send_path.empty() || !c.recv_path.empty())
      fail("volume: a shared LUN (--volume) and a mirrored pair (--send, --recv) exclude each other");
    if (!c.slot) fail("slot: a shared volume needs this node's slot (--slot N or \"slot\" in the config)");
    if (*c.slot > 63) fail(fmt::format("slot {}: expected 0 to 63 (--slot)", *c.slot));
    if (c.format_if_empty)
      fail("format_if_empty: not for a shared volume; format it once with vnicctl format PATH --slots N");
    std::string name = c.effective_node_name();
    if (name.empty() || name.size() >= 64 || name.find('\0') != std::string::npos)
      fail(fmt::format("node_name '{}': expected 1 to 63 bytes", name));
  } else {
    if (c.slot) fail("slot: only with a shared volume (--volume); a mirrored pair uses send_slot and peer_slot");
    if (c.send_path.empty())
      fail("send: no send volume given (--send PATH and --recv PATH for a mirrored pair, or --volume PATH --slot N "
           "for a shared LUN)");
    if (c.recv_path.empty()) fail("recv: no receive volume given (--recv PATH or \"recv\" in the config)");
  }
  if (c.lap_after_ms < 10 || c.lap_after_ms > 60000)
    fail(fmt::format("lap_after_ms {}: expected 10 to 60000", c.lap_after_ms));
  for (const auto& a : c.addresses)
    if (!valid_cidr(a)) fail(fmt::format("address '{}': not a CIDR such as 10.77.0.1/24 or fd00::1/64", a));
  if (c.io_engine != "auto" && c.io_engine != "io_uring" && c.io_engine != "libaio" && c.io_engine != "sync")
    fail(fmt::format("io_engine '{}': expected auto, io_uring, libaio or sync", c.io_engine));
  if (c.sync != "none" && c.sync != "odsync" && c.sync != "rwf-dsync")
    fail(fmt::format("sync '{}': expected none, odsync or rwf-dsync", c.sync));
  static const char* levels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (std::find(std::begin(levels), std::end(levels), c.log_level) == std::end(levels))
    fail(fmt::format("log_level '{}': expected trace, debug, info, warn, error, critical or off", c.log_level));
  if (c.dead_after_ms < 3 * c.heartbeat_interval_ms)
    fail(fmt::format("dead_after_ms {} must be at least 3 heartbeats ({} ms)", c.dead_after_ms,
                     3 * c.heartbeat_interval_ms));
  if (c.torn_timeout_ms < kMinTornTimeoutMs || c.torn_timeout_ms > kMaxTornTimeoutMs)
    fail(fmt::format("torn_timeout_ms {}: expected {} to {}", c.torn_timeout_ms, kMinTornTimeoutMs, kMaxTornTimeoutMs));
  if (c.mtu && (*c.mtu < 68 || *c.mtu > 65521)) fail(fmt::format("mtu {}: expected 68 to 65521", *c.mtu));
  if (c.tx_queue_len && (*c.tx_queue_len < 1 || *c.tx_queue_len > kMaxTxQueueLen))
    fail(fmt::format("tx_queue_len {}: expected 1 to {}", *c.tx_queue_len, kMaxTxQueueLen));
  if (c.priority < kMinPriority || c.priority > kMaxPriority)
    fail(fmt::format("priority {}: expected {} to {} (SCHED_RR; keep it below corosync's 99)", c.priority, kMinPriority,
                     kMaxPriority));
  if (c.block_size && (*c.block_size & (*c.block_size - 1)) != 0)
    fail(fmt::format("block_size {}: not a power of two", *c.block_size));
  check_account_options(c);  // user, group, control_socket_group: accounts that exist here
  if (c.key_file && c.key_file->empty()) fail("key_file: empty path");
  if (c.encrypt && !c.key_file) fail("encrypt: needs a key_file (vnicctl keygen PATH writes one)");
  if (c.accept_key_file && !c.key_file) fail("accept_key_file: needs a key_file too (the key this node seals with)");
}

std::optional<Config> parse_command_line(int argc, char** argv) {
  CLI::App app{"vnicd: a network interface whose frames travel through shared storage"};
  app.set_version_flag("--version", "vnicd 0.1.0");
  std::optional<std::string> config_file, ifname, send, recv, mac, engine, socket, log_level, offload, sync;
  std::optional<std::string> user, group, socket_group, realtime, lock_memory, keep_interface;
  std::optional<std::string> volume, node_name;
  std::optional<uint32_t> slot;
  std::optional<unsigned> lap_after;
  std::optional<unsigned> priority;
  std::vector<std::string> addresses;
  std::optional<unsigned> mtu, tx_queue_len, heartbeat, dead_after, max_age, torn_timeout, queue_depth;
  std::optional<uint32_t> block_size, send_slot, peer_slot;
  bool format_if_empty = false;
  std::optional<std::string> key_file, accept_key_file;
  bool encrypt = false;
  app.add_option("--config", config_file, "JSON configuration file (flags win over it)");
  app.add_option("--ifname", ifname, "interface name (default vnic0)");
  app.add_option("--send", send, "send volume: file or block device this node writes");
  app.add_option("--recv", recv, "receive volume: the storage mirror of the peer's send volume");
  app.add_option("--volume", volume, "shared LUN: the one volume every node reads (instead of --send/--recv)");
  app.add_option("--slot", slot, "shared LUN: this node's slot (0-63), the only one it writes");
  app.add_option("--node-name", node_name, "shared LUN: this node's name in its slot (default: the host name)");
  app.add_option("--lap-after-ms", lap_after,
                 "shared LUN: lap a live node that has not read for this long while the ring is full (default 500)");
  app.add_option("--address", addresses, "address in CIDR form; repeat for more");
  app.add_option("--mtu", mtu, "interface MTU");
  app.add_option("--txqueuelen", tx_queue_len, "frames the kernel queues on the TAP (default: the kernel's, 1000)");
  app.add_option("--mac", mac, "MAC address (default: derived from the send volume's UUID and slot)");
  app.add_option("--io-engine", engine, "auto, io_uring, libaio or sync");
  app.add_option("--control-socket", socket, "UNIX control socket (default /run/vnic/IFNAME.sock)");
  app.add_option("--control-socket-group", socket_group, "make the control socket 0660 with this group");
  app.add_option("--user", user, "run as this user once the TAP, volumes and socket are open");
  app.add_option("--group", group, "with --user: run with this group (default the user's primary group)");
  app.add_flag("--format-if-empty", format_if_empty, "format the send volume if it is all zeros");
  app.add_option("--key-file", key_file, "authenticate blocks and state records with this key (vnicctl keygen)");
  app.add_option("--accept-key-file", accept_key_file, "accept this key as well (a rolling key change)");
  app.add_flag("--encrypt", encrypt, "encrypt the frames too (needs --key-file)");
  app.add_option("--block-size", block_size, "expected block size of the send volume (and for --format-if-empty)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error");
  app.add_option("--offload", offload, "on or off: TAP checksum/TSO/USO offloads");
  app.add_option("--sync", sync, "none, odsync or rwf-dsync");
  app.add_option("--realtime", realtime, "on or off: SCHED_RR scheduling (default on)");
  app.add_option("--priority", priority, "SCHED_RR priority, 1 to 99 (default 40, below corosync's 99)");
  app.add_option("--lock-memory", lock_memory, "on or off: lock vnicd's memory against paging (default on)");
  app.add_option("--keep-interface", keep_interface,
                 "on or off: a clean stop leaves the interface in place, without carrier (default on)");
  app.add_option("--send-slot", send_slot, "this node's slot on the send volume (a pair sharing one volume)");
  app.add_option("--peer-slot", peer_slot, "the peer's slot on the receive volume (a pair sharing one volume)");
  app.add_option("--queue-depth", queue_depth, "block writes in flight");
  app.add_option("--heartbeat-interval-ms", heartbeat, "heartbeat period (default 100)");
  app.add_option("--dead-after-ms", dead_after,
                 "peer declared dead after this long without a heartbeat (default 1000)");
  app.add_option("--max-frame-age-ms", max_age, "never deliver a frame older than this (default 2000)");
  app.add_option("--torn-timeout-ms", torn_timeout,
                 "skip a block that never becomes valid this long after the writer is past it (default 100)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    app.exit(e);
    return std::nullopt;
  } catch (const CLI::CallForVersion& e) {
    app.exit(e);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    throw ConfigError(e.what());
  }

  Config c;
  if (config_file) load_config_file(*config_file, c);
  if (ifname) c.ifname = *ifname;
  if (send) c.send_path = *send;
  if (recv) c.recv_path = *recv;
  if (volume) c.volume = *volume;
  if (slot) c.slot = slot;
  if (node_name) c.node_name = *node_name;
  if (lap_after) c.lap_after_ms = *lap_after;
  if (!addresses.empty()) c.addresses = addresses;
  if (mtu) c.mtu = mtu;
  if (tx_queue_len) c.tx_queue_len = tx_queue_len;
  if (mac) c.mac = mac;
  if (engine) c.io_engine = *engine;
  if (socket) c.control_socket = *socket;
  if (socket_group) c.control_socket_group = socket_group;
  if (user) c.user = user;
  if (group) c.group = group;
  if (format_if_empty) c.format_if_empty = true;
  if (key_file) c.key_file = key_file;
  if (accept_key_file) c.accept_key_file = accept_key_file;
  if (encrypt) c.encrypt = true;
  c.key_flags_given = key_file || accept_key_file || encrypt;
  if (block_size) c.block_size = block_size;
  if (log_level) c.log_level = *log_level;
  if (offload) c.offload = parse_on_off("--offload", *offload);
  if (realtime) c.realtime = parse_on_off("--realtime", *realtime);
  if (priority) c.priority = *priority;
  if (lock_memory) c.lock_memory = parse_on_off("--lock-memory", *lock_memory);
  if (keep_interface) c.keep_interface = parse_on_off("--keep-interface", *keep_interface);
  if (sync) c.sync = *sync;
  if (send_slot) c.send_slot = *send_slot;
  if (peer_slot) c.peer_slot = *peer_slot;
  if (queue_depth) c.queue_depth = *queue_depth;
  if (heartbeat) c.heartbeat_interval_ms = *heartbeat;
  if (dead_after) c.dead_after_ms = *dead_after;
  if (max_age) c.max_frame_age_ms = *max_age;
  if (torn_timeout) c.torn_timeout_ms = *torn_timeout;
  validate(c);
  return c;
}

}  // namespace vnicd
