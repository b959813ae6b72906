#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "tests/daemon/config_test_support.h"

using vnicd::Config;
using vnicd::ConfigError;
using vnicd_test::TempJson;

namespace {

std::optional<Config> parse(std::vector<std::string> args) { return vnicd_test::parse_vnicd_args(std::move(args)); }

}  // namespace

TEST_CASE("a JSON config is read and flags win over it", "[config]") {
  TempJson file(R"({"ifname": "hb0", "send": "/dev/a", "recv": "/dev/b", "addresses": ["10.77.0.1/24"],
                    "mtu": 9000, "heartbeat_interval_ms": 50, "dead_after_ms": 400, "offload": false,
                    "tx_queue_len": 100})");
  auto c = parse({"--config", file.path, "--mtu", "1500", "--address", "10.77.5.1/24", "--txqueuelen", "64"});
  REQUIRE(c);
  CHECK(c->ifname == "hb0");
  CHECK(c->send_path == "/dev/a");
  CHECK(c->mtu == 1500u);
  CHECK(c->tx_queue_len == 64u);
  CHECK(c->addresses == std::vector<std::string>{"10.77.5.1/24"});
  CHECK(c->heartbeat_interval_ms == 50);
  CHECK(c->dead_after_ms == 400);
  CHECK_FALSE(c->offload);
  CHECK(c->effective_control_socket() == "/run/vnic/hb0.sock");
  CHECK(c->config_path == file.path);
}

TEST_CASE("bad config files are refused naming the file and the key", "[config]") {
  auto refused = [](const std::string& text, const std::string& expected) {
    TempJson file(text);
    INFO(text);
    CHECK_THROWS_WITH(parse({"--config", file.path}), Catch::Contains(file.path) && Catch::Contains(expected));
  };
  refused("{", "not valid JSON");
  refused("[1, 2]", "expected a JSON object");
  refused(R"({"send": "/a", "recv": "/b", "colour": 1})", "unknown key 'colour'");
  refused(R"({"send": "/a", "recv": "/b", "mtu": "big"})", "'mtu': expected a whole number");
  refused(R"({"send": "/a", "recv": "/b", "mtu": 20})", "'mtu': expected a whole number from 68");
  refused(R"({"send": "/a", "recv": "/b", "offload": "yes"})", "'offload': expected true or false");
  refused(R"({"send": "/a", "recv": "/b", "addresses": "10.77.0.1/24"})", "'addresses': expected an array");
  refused(R"({"send": "/a", "recv": "/b", "queue_depth": -1})", "'queue_depth'");
  refused(R"({"send": "/a", "recv": "/b", "tx_queue_len": 0})", "'tx_queue_len': expected a whole number from 1");
  refused(R"({"send": "/a", "recv": "/b", "tx_queue_len": 524289})", "'tx_queue_len'");
  CHECK_THROWS_WITH(parse({"--config", "/nonexistent/vnic.json"}), Catch::Contains("/nonexistent/vnic.json"));
}

TEST_CASE("bad option values are refused naming the option", "[config]") {
  auto refused = [](std::vector<std::string> args, const std::string& expected) {
    args.insert(args.begin(), {"--send", "/a", "--recv", "/b"});
    CHECK_THROWS_AS(parse(args), ConfigError);
    CHECK_THROWS_WITH(parse(args), Catch::Contains(expected));
  };
  refused({"--address", "10.77.0.1"}, "address '10.77.0.1'");
  refused({"--address", "10.77.0.1/33"}, "not a CIDR");
  refused({"--address", "fd00::1/129"}, "not a CIDR");
  refused({"--address", "default"}, "not a CIDR");
  refused({"--dead-after-ms", "250"}, "at least 3 heartbeats");
  refused({"--io-engine", "fast"}, "io_engine 'fast'");
  refused({"--offload", "maybe"}, "--offload 'maybe'");
  refused({"--ifname", "a/b"}, "not a valid interface name");
  refused({"--ifname", "averyveryverylongname"}, "not a valid interface name");
  refused({"--log-level", "loud"}, "log_level 'loud'");
  refused({"--sync", "always"}, "sync 'always'");
  refused({"--block-size", "3000"}, "not a power of two");
  refused({"--txqueuelen", "0"}, "tx_queue_len 0: expected 1 to 524288");
  refused({"--txqueuelen", "524289"}, "tx_queue_len 524289");
  CHECK_THROWS_WITH(parse({"--recv", "/b"}), Catch::Contains("no send volume"));
  CHECK_THROWS_WITH(parse({"--send", "/a", "--bogus"}), Catch::Contains("--bogus"));
}

TEST_CASE("torn_timeout_ms: default, file, flag, and its range", "[config]") {
  auto c = parse({"--send", "/a", "--recv", "/b"});
  REQUIRE(c);
  CHECK(c->torn_timeout_ms == 100);
  TempJson file(R"({"send": "/a", "recv": "/b", "torn_timeout_ms": 2500})");
  c = parse({"--config", file.path});
  REQUIRE(c);
  CHECK(c->torn_timeout_ms == 2500);
  c = parse({"--config", file.path, "--torn-timeout-ms", "10"});
  REQUIRE(c);
  CHECK(c->torn_timeout_ms == 10);
  CHECK_THROWS_WITH(parse({"--send", "/a", "--recv", "/b", "--torn-timeout-ms", "9"}),
                    Catch::Contains("torn_timeout_ms 9: expected 10 to 60000"));
  CHECK_THROWS_WITH(parse({"--send", "/a", "--recv", "/b", "--torn-timeout-ms", "60001"}),
                    Catch::Contains("torn_timeout_ms 60001: expected 10 to 60000"));
  TempJson too_short(R"({"send": "/a", "recv": "/b", "torn_timeout_ms": 0})");
  CHECK_THROWS_WITH(parse({"--config", too_short.path}),
                    Catch::Contains(too_short.path) && Catch::Contains("'torn_timeout_ms'"));
}

TEST_CASE("IPv6 and IPv4 CIDRs are accepted", "[config]") {
  auto c = parse({"--send", "/a", "--recv", "/b", "--address", "10.77.0.1/24", "--address", "fd00:77::1/64"});
  REQUIRE(c);
  CHECK(c->addresses.size() == 2);
}

TEST_CASE("real-time scheduling, memory lock and keep_interface: defaults, file, flags", "[config][realtime]") {
  auto defaults = parse({"--send", "/a", "--recv", "/b"});
  REQUIRE(defaults);
  CHECK(defaults->realtime);
  CHECK(defaults->priority == 40u);  // below corosync's 99 and the threaded IRQ handlers' 50
  CHECK(defaults->lock_memory);
  CHECK(defaults->keep_interface);

  TempJson file(R"({"send": "/a", "recv": "/b", "realtime": false, "priority": 20, "lock_memory": false,
                    "keep_interface": false})");
  auto from_file = parse({"--config", file.path});
  REQUIRE(from_file);
  CHECK_FALSE(from_file->realtime);
  CHECK(from_file->priority == 20u);
  CHECK_FALSE(from_file->lock_memory);
  CHECK_FALSE(from_file->keep_interface);

  auto flags_win = parse({"--config", file.path, "--realtime", "on", "--priority", "99", "--lock-memory", "on",
                          "--keep-interface", "on"});
  REQUIRE(flags_win);
  CHECK(flags_win->realtime);
  CHECK(flags_win->priority == 99u);
  CHECK(flags_win->lock_memory);
  CHECK(flags_win->keep_interface);
}

TEST_CASE("bad real-time values are refused naming the option", "[config][realtime]") {
  auto refused_file = [](const std::string& text, const std::string& expected) {
    TempJson file(text);
    INFO(text);
    CHECK_THROWS_WITH(parse({"--config", file.path}), Catch::Contains(file.path) && Catch::Contains(expected));
  };
  refused_file(R"({"send": "/a", "recv": "/b", "priority": 0})", "'priority': expected a whole number from 1 to 99");
  refused_file(R"({"send": "/a", "recv": "/b", "priority": 100})", "'priority': expected a whole number from 1 to 99");
  refused_file(R"({"send": "/a", "recv": "/b", "realtime": "rr"})", "'realtime': expected true or false");
  refused_file(R"({"send": "/a", "recv": "/b", "lock_memory": 1})", "'lock_memory': expected true or false");
  refused_file(R"({"send": "/a", "recv": "/b", "keep_interface": "no"})", "'keep_interface': expected true or false");

  auto refused_flags = [](std::vector<std::string> args, const std::string& expected) {
    args.insert(args.begin(), {"--send", "/a", "--recv", "/b"});
    INFO(expected);
    CHECK_THROWS_AS(parse(args), ConfigError);
    CHECK_THROWS_WITH(parse(args), Catch::Contains(expected));
  };
  refused_flags({"--priority", "0"}, "priority 0: expected 1 to 99");
  refused_flags({"--priority", "100"}, "priority 100: expected 1 to 99");
  refused_flags({"--realtime", "yes"}, "--realtime 'yes': expected on or off");
  refused_flags({"--lock-memory", "1"}, "--lock-memory '1': expected on or off");
  refused_flags({"--keep-interface", "true"}, "--keep-interface 'true': expected on or off");
}

TEST_CASE("a shared LUN: volume, slot, node_name and lap_after_ms, and what excludes what", "[config]") {
  TempJson file(R"({"volume": "/dev/shared", "slot": 3, "node_name": "node-c", "lap_after_ms": 250})");
  auto c = parse({"--config", file.path});
  REQUIRE(c);
  CHECK(c->shared());
  CHECK(c->volume == "/dev/shared");
  CHECK(c->slot == 3u);
  CHECK(c->effective_node_name() == "node-c");
  CHECK(c->lap_after_ms == 250);
  c = parse({"--config", file.path, "--slot", "5", "--node-name", "other"});
  REQUIRE(c);
  CHECK(c->slot == 5u);
  CHECK(c->effective_node_name() == "other");
  // Without a name the host's is used.
  c = parse({"--volume", "/dev/shared", "--slot", "0"});
  REQUIRE(c);
  char host[256] = {};
  REQUIRE(::gethostname(host, sizeof(host) - 1) == 0);
  CHECK(c->effective_node_name() == host);
  CHECK(c->lap_after_ms == 500);

  CHECK_THROWS_WITH(parse({"--volume", "/dev/shared"}), Catch::Contains("slot: a shared volume needs this node's slot"));
  CHECK_THROWS_WITH(parse({"--volume", "/dev/shared", "--slot", "0", "--send", "/a", "--recv", "/b"}),
                    Catch::Contains("exclude each other"));
  CHECK_THROWS_WITH(parse({"--send", "/a", "--recv", "/b", "--slot", "1"}), Catch::Contains("slot: only with a shared volume"));
  CHECK_THROWS_WITH(parse({"--volume", "/dev/shared", "--slot", "64"}), Catch::Contains("--slot"));
  CHECK_THROWS_WITH(parse({"--volume", "/dev/shared", "--slot", "1", "--node-name", std::string(64, 'n')}),
                    Catch::Contains("node_name"));
  CHECK_THROWS_WITH(parse({"--volume", "/dev/shared", "--slot", "1", "--lap-after-ms", "5"}),
                    Catch::Contains("lap_after_ms 5: expected 10 to 60000"));
  CHECK_THROWS_WITH(parse({"--volume", "/dev/shared", "--slot", "1", "--format-if-empty"}),
                    Catch::Contains("format_if_empty: not for a shared volume"));
  TempJson bad_slot(R"({"volume": "/dev/shared", "slot": 64})");
  CHECK_THROWS_WITH(parse({"--config", bad_slot.path}), Catch::Contains(bad_slot.path) && Catch::Contains("'slot'"));
}
