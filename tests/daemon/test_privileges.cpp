#include <catch2/catch.hpp>

#include <cap-ng.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "control/control_server.h"
#include "daemon/config.h"
#include "tests/daemon/config_test_support.h"
#include "daemon/privileges.h"
#include "tests/support/skip.h"
#include "tools/common/child_process.h"
#include "vnic/link_control.h"
#include "vnic/tap_device.h"

using vnicd::Config;
using vnicd::ConfigError;
using vnicd_test::TempJson;

namespace {

constexpr const char* kNoUser = "vnic-test-no-such-user";
constexpr const char* kNoGroup = "vnic-test-no-such-group";

std::optional<Config> parse(std::vector<std::string> args) {
  args.insert(args.begin(), {"--send", "/a", "--recv", "/b"});
  return vnicd_test::parse_vnicd_args(std::move(args));
}

const passwd& nobody() {
  static const passwd* entry = ::getpwnam("nobody");
  REQUIRE(entry != nullptr);
  return *entry;
}

// Runs `body` in a forked child and returns what it wrote to `out` (one line per failure) and
// its exit status. The child changes its own credentials and network namespace, never ours.
std::pair<std::string, int> in_child(const std::function<void(int out)>& body) {
  vnic_tools::ForkedRun run = vnic_tools::run_forked(body);
  return {run.out, run.exit_code};
}

void report(int out, const std::string& line) { (void)!::write(out, (line + "\n").data(), line.size() + 1); }

// Everything vnicd does to its interface after setup, and then some an admin event could ask for.
// Writes "ok NAME" or "failed NAME: why" per operation.
void exercise_interface(vnic::TapDevice& tap, vnic::LinkControl& link, int out) {
  auto attempt = [&](const std::string& name, const std::function<void()>& op) {
    try {
      op();
      report(out, "ok " + name);
    } catch (const std::exception& e) {
      report(out, "failed " + name + ": " + e.what());
    }
  };
  attempt("carrier", [&] {
    tap.set_carrier(true);
    tap.set_carrier(false);
  });
  attempt("mtu", [&] { link.set_mtu(1400); });
  attempt("mac", [&] { link.set_mac(vnic::MacAddress::parse("02:00:00:77:00:01")); });
  attempt("address", [&] {
    link.add_address("10.77.99.1/24");
    link.remove_address("10.77.99.1/24");
  });
  attempt("admin", [&] {
    link.set_admin_up(true);
    link.set_admin_up(false);
  });
  attempt("txqueuelen", [&] { link.set_tx_queue_len(500); });
  attempt("state", [&] { (void)link.state(); });
}

// Why the privilege-dropping tests cannot run here, if they cannot.
std::optional<std::string> missing_for_privilege_tests() {
  if (::geteuid() != 0) return "needs root";
  if (::access("/dev/net/tun", R_OK | W_OK) != 0) return "/dev/net/tun is missing";
  if (::getpwnam("nobody") == nullptr) return "no user 'nobody'";
  // Root in a container may lack these; the tests then prove nothing about the drop.
  if (capng_get_caps_process() != 0) return "cannot read our capabilities";
  for (unsigned cap : {CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID, CAP_SETPCAP}) {
    if (!capng_have_capability(CAPNG_EFFECTIVE, cap))
      return std::string("needs ") + capng_capability_to_name(cap) + " (root without it here)";
  }
  return std::nullopt;
}

// Leaves the test case as a visible skip (tests/support/skip.h) when it cannot run here.
#define REQUIRE_PRIVILEGE_TESTS_OR_SKIP()                     \
  do {                                                        \
    if (const auto missing = missing_for_privilege_tests()) { \
      VNIC_SKIP(*missing);                                    \
    }                                                         \
  } while (false)

// A child in a fresh network namespace of its own, with a TAP and its link control.
void with_tap(int out, const std::function<void(vnic::TapDevice&, vnic::LinkControl&)>& body) {
  if (::unshare(CLONE_NEWNET) != 0) {
    report(out, "child: unshare(CLONE_NEWNET) failed");
    ::_exit(3);
  }
  vnic::TapDevice tap(vnic::TapOptions{.name = "vnicp0"});
  vnic::LinkControl link("vnicp0");
  body(tap, link);
}

}  // namespace

TEST_CASE("user, group and control_socket_group are read from the file and flags win", "[config][privileges]") {
  TempJson file(R"({"send": "/a", "recv": "/b", "user": "nobody", "group": "root", "control_socket_group": "root"})");
  auto c = parse({"--config", file.path});
  REQUIRE(c);
  CHECK(c->user == "nobody");
  CHECK(c->group == "root");
  CHECK(c->control_socket_group == "root");
  auto run_as = vnicd::resolve_run_as(*c);
  REQUIRE(run_as);
  CHECK(run_as->uid == nobody().pw_uid);
  CHECK(run_as->gid == 0);
  CHECK(vnicd::resolve_socket_group(*c) == gid_t{0});

  auto flags = parse({"--config", file.path, "--user", "root", "--group", "root", "--control-socket-group", "root"});
  REQUIRE(flags);
  CHECK(flags->user == "root");
  CHECK(vnicd::resolve_run_as(*flags)->uid == 0);
}

TEST_CASE("without user vnicd stays who it is, and group defaults to the primary group", "[config][privileges]") {
  auto plain = parse({});
  REQUIRE(plain);
  CHECK_FALSE(plain->user);
  CHECK_FALSE(vnicd::resolve_run_as(*plain));
  CHECK_FALSE(vnicd::resolve_socket_group(*plain));

  auto c = parse({"--user", "nobody"});
  REQUIRE(c);
  auto run_as = vnicd::resolve_run_as(*c);
  REQUIRE(run_as);
  CHECK(run_as->gid == nobody().pw_gid);
  CHECK(run_as->user == "nobody");
  CHECK_FALSE(run_as->group.empty());
}

TEST_CASE("unknown accounts and a group without a user are refused naming the key", "[config][privileges]") {
  auto refused = [](std::vector<std::string> args, const std::string& expected) {
    INFO(expected);
    CHECK_THROWS_AS(parse(args), ConfigError);
    CHECK_THROWS_WITH(parse(args), Catch::Contains(expected));
  };
  refused({"--user", kNoUser}, std::string("user '") + kNoUser + "': no such user");
  refused({"--user", ""}, "user '': no such user");
  refused({"--user", "nobody", "--group", kNoGroup}, std::string("group '") + kNoGroup + "': no such group");
  refused({"--control-socket-group", kNoGroup}, std::string("control_socket_group '") + kNoGroup + "': no such group");
  refused({"--group", "root"}, "group 'root': only together with user");

  TempJson wrong_type(R"({"send": "/a", "recv": "/b", "user": 0})");
  CHECK_THROWS_WITH(vnicd_test::parse_vnicd_args({"--config", wrong_type.path}), Catch::Contains("'user': expected a string"));
  TempJson unknown(std::string(R"({"send": "/a", "recv": "/b", "control_socket_group": ")") + kNoGroup + "\"}");
  CHECK_THROWS_WITH(vnicd_test::parse_vnicd_args({"--config", unknown.path}),
                    Catch::Contains(std::string("control_socket_group '") + kNoGroup + "': no such group"));
}

TEST_CASE("after the drop: the user's ids, no groups, CAP_NET_ADMIN alone, no_new_privs", "[privileges]") {
  REQUIRE_PRIVILEGE_TESTS_OR_SKIP();
  vnicd::RunAs target{nobody().pw_uid, nobody().pw_gid, "nobody", "nobody"};
  auto [text, status] = in_child([&](int out) {
    std::string line = vnicd::drop_privileges(target);
    report(out, line);
    uid_t r, e, s;
    gid_t rg, eg, sg;
    ::getresuid(&r, &e, &s);
    ::getresgid(&rg, &eg, &sg);
    if (r != target.uid || e != target.uid || s != target.uid) report(out, "wrong uid");
    if (rg != target.gid || eg != target.gid || sg != target.gid) report(out, "wrong gid");
    if (::getgroups(0, nullptr) != 0) report(out, "supplementary groups kept");
    if (::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) report(out, "no_new_privs not set");
    if (capng_get_caps_process() != 0) report(out, "capget failed");
    for (unsigned cap = 0; cap <= CAP_LAST_CAP; ++cap) {
      bool want = cap == CAP_NET_ADMIN;
      if (capng_have_capability(CAPNG_EFFECTIVE, cap) != want || capng_have_capability(CAPNG_PERMITTED, cap) != want)
        report(out, std::string("unexpected ") + capng_capability_to_name(cap));
      if (capng_have_capability(CAPNG_BOUNDING_SET, cap)) report(out, "bounding set not empty");
    }
    // Root cannot come back.
    if (::setuid(0) == 0) report(out, "setuid(0) succeeded");
  });
  INFO(text);
  CHECK(status == 0);
  CHECK(text.find("kept CAP_NET_ADMIN only") != std::string::npos);
  CHECK(text.find("bounding set empty") != std::string::npos);
  CHECK(text.find('\n') == text.size() - 1);  // the one log line, nothing wrong after it
}

TEST_CASE("CAP_NET_ADMIN alone suffices for carrier and link changes after the drop", "[privileges]") {
  REQUIRE_PRIVILEGE_TESTS_OR_SKIP();
  vnicd::RunAs target{nobody().pw_uid, nobody().pw_gid, "nobody", "nobody"};
  auto [text, status] = in_child([&](int out) {
    with_tap(out, [&](vnic::TapDevice& tap, vnic::LinkControl& link) {
      vnicd::drop_privileges(target);
      exercise_interface(tap, link, out);
    });
  });
  INFO(text);
  CHECK(status == 0);
  CHECK(text.find("failed") == std::string::npos);
  CHECK(text.find("ok carrier") != std::string::npos);
  CHECK(text.find("ok txqueuelen") != std::string::npos);
}

TEST_CASE("without CAP_NET_ADMIN the same changes are refused: it is the one capability needed", "[privileges]") {
  REQUIRE_PRIVILEGE_TESTS_OR_SKIP();
  auto [text, status] = in_child([&](int out) {
    with_tap(out, [&](vnic::TapDevice& tap, vnic::LinkControl& link) {
      capng_clear(CAPNG_SELECT_BOTH);
      if (capng_change_id(static_cast<int>(nobody().pw_uid), static_cast<int>(nobody().pw_gid),
                          static_cast<capng_flags_t>(CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING)) != 0)
        report(out, "child: capng_change_id failed");
      exercise_interface(tap, link, out);
    });
  });
  INFO(text);
  CHECK(status == 0);
  for (const char* op : {"mtu", "mac", "address", "admin", "txqueuelen"})
    CHECK(text.find(std::string("failed ") + op) != std::string::npos);
  CHECK(text.find("ok state") != std::string::npos);  // reading needs nothing
  // TUNSETCARRIER is checked against the TAP's opener, not the caller: the fd is the privilege.
  CHECK(text.find("ok carrier") != std::string::npos);
}

TEST_CASE("control_socket_group: the socket is made 0660 with that group, else 0600", "[privileges]") {
  const group* other = ::getgrnam("daemon");
  if (::geteuid() != 0 || other == nullptr || other->gr_gid == ::getegid()) {
    VNIC_SKIP("needs root and a group 'daemon' that is not ours");
  }
  char dir[] = "/tmp/vnicd-sock-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  auto handler = [](const nlohmann::json&) { return nlohmann::json::object(); };
  struct stat st {};
  {
    vnic_control::ControlServer grouped(std::string(dir) + "/g.sock", handler, 0660, other->gr_gid);
    REQUIRE(::lstat(grouped.path().c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0660);
    CHECK(st.st_gid == other->gr_gid);
    CHECK(::getegid() != other->gr_gid);  // the process's own group is untouched
    vnic_control::ControlServer plain(std::string(dir) + "/p.sock", handler);
    REQUIRE(::lstat(plain.path().c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(st.st_gid == ::getegid());
  }
  ::rmdir(dir);
}
