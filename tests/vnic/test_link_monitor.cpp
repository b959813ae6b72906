#include "vnic/frame_batch.h"
#include "vnic/link_monitor.h"
#include "vnic/tap_device.h"

#include "tools/common/child_process.h"
#include "tests/vnic/support/netns.h"
#include "tests/vnic/support/tap_fixture.h"

#include <poll.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <vector>

using namespace std::chrono_literals;
using vnic::LinkEvent;
using vnic::LinkEventKind;
using vnic::LinkMonitor;
using vnic::TapOptions;
using vnic::test::ScopedNetns;

namespace {

// Waits on the monitor's fd, as the daemon's epoll loop would, until an
// event of `kind` arrives; every event seen on the way is kept in `seen`.
std::optional<LinkEvent> await_event(LinkMonitor& monitor, LinkEventKind kind, std::vector<LinkEvent>& seen,
                                     std::chrono::milliseconds timeout = 3s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (LinkEvent& event : monitor.poll()) {
      seen.push_back(event);
    }
    for (const LinkEvent& event : seen) {
      if (event.kind == kind) {
        return event;
      }
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return std::nullopt;
    }
    pollfd readable{monitor.fd(), POLLIN, 0};
    ::poll(&readable, 1, static_cast<int>(left.count()));
  }
}

std::string kinds(const std::vector<LinkEvent>& events) {
  std::string text;
  for (const LinkEvent& event : events) {
    text += std::string(vnic::to_string(event.kind)) + " ";
  }
  return text;
}

}  // namespace

TEST_CASE("the link monitor reports admin up/down, carrier, MTU and removal", "[vnic][monitor]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  std::optional<vnic::test::NamespacedTap> nic = vnic::test::open_tap_in(ns.name(), TapOptions{.name = "vnicmon0"});
  LinkMonitor monitor = vnic::test::in_netns(ns.name(), [&] { return LinkMonitor(nic->tap.ifindex()); });
  CHECK(monitor.last_state().name == "vnicmon0");
  CHECK_FALSE(monitor.last_state().admin_up);
  CHECK(monitor.poll().empty());

  std::vector<LinkEvent> seen;
  // Changes made by an admin, outside the daemon.
  vnic_tools::run_checked({"ip", "-n", ns.name(), "link", "set", "vnicmon0", "up"});
  auto up = await_event(monitor, LinkEventKind::admin_up, seen);
  INFO("events: " << kinds(seen));
  REQUIRE(up);
  CHECK(up->state.admin_up);
  CHECK_FALSE(up->state.lower_up);  // still no carrier

  seen.clear();
  nic->tap.set_carrier(true);
  auto lower = await_event(monitor, LinkEventKind::lower_up, seen);
  INFO("events: " << kinds(seen));
  REQUIRE(lower);
  CHECK(lower->state.carrier);

  seen.clear();
  vnic_tools::run_checked({"ip", "-n", ns.name(), "link", "set", "vnicmon0", "mtu", "9000"});
  auto mtu = await_event(monitor, LinkEventKind::mtu_changed, seen);
  INFO("events: " << kinds(seen));
  REQUIRE(mtu);
  CHECK(mtu->state.mtu == 9000);

  seen.clear();
  vnic_tools::run_checked({"ip", "-n", ns.name(), "link", "set", "vnicmon0", "down"});
  auto down = await_event(monitor, LinkEventKind::admin_down, seen);
  INFO("events: " << kinds(seen));
  REQUIRE(down);
  CHECK_FALSE(down->state.admin_up);
  CHECK(monitor.last_state().mtu == 9000);

  seen.clear();
  nic.reset();  // closing the TAP removes the interface
  auto removed = await_event(monitor, LinkEventKind::removed, seen);
  INFO("events: " << kinds(seen));
  REQUIRE(removed);
  CHECK(monitor.poll().empty());
}

TEST_CASE("the link monitor ignores other interfaces", "[vnic][monitor]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  auto watched = vnic::test::open_tap_in(ns.name(), TapOptions{.name = "vnicmon1"});
  auto other = vnic::test::open_tap_in(ns.name(), TapOptions{.name = "vnicmon2"});
  LinkMonitor monitor = vnic::test::in_netns(ns.name(), [&] { return LinkMonitor(watched.tap.ifindex()); });
  other.link.set_admin_up(true);
  other.link.set_mtu(9000);
  // A change on the watched link afterwards proves the earlier ones were delivered and skipped.
  watched.link.set_mtu(4000);
  std::vector<LinkEvent> seen;
  auto mtu = await_event(monitor, LinkEventKind::mtu_changed, seen);
  INFO("events: " << kinds(seen));
  REQUIRE(mtu);
  CHECK(mtu->state.mtu == 4000);
  CHECK(seen.size() == 1);
}

TEST_CASE("the link monitor resynchronises after its socket overflows", "[vnic][monitor]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  auto nic = vnic::test::open_tap_in(ns.name(), TapOptions{.name = "vnicmon3"});
  LinkMonitor monitor = vnic::test::in_netns(ns.name(), [&] { return LinkMonitor(nic.tap.ifindex()); });
  // Far more notifications than the socket buffer holds, none read meanwhile.
  for (unsigned i = 0; i < 3000; ++i) {
    nic.link.set_mtu(1400 + i % 200);
  }
  nic.link.set_mtu(4321);
  std::vector<LinkEvent> seen;
  for (int round = 0; round < 100 && monitor.last_state().mtu != 4321; ++round) {
    for (LinkEvent& event : monitor.poll()) {
      seen.push_back(event);
    }
  }
  CHECK(monitor.last_state().mtu == 4321);
  REQUIRE_FALSE(seen.empty());
  CHECK(seen.back().kind == LinkEventKind::mtu_changed);
  CHECK(seen.back().state.mtu == 4321);
  // Fewer events than changes: the overflow really happened and was survived.
  CHECK(seen.size() < 3001);
}

TEST_CASE("an interface deleted under the daemon surfaces as an error and an event", "[vnic][monitor]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  auto nic = vnic::test::open_tap_in(ns.name(), TapOptions{.name = "vnicmon4"});
  LinkMonitor monitor = vnic::test::in_netns(ns.name(), [&] { return LinkMonitor(nic.tap.ifindex()); });
  vnic_tools::run_checked({"ip", "-n", ns.name(), "link", "del", "vnicmon4"});

  std::vector<LinkEvent> seen;
  CHECK(await_event(monitor, LinkEventKind::removed, seen));
  // The fd stays open but is detached: epoll reports it, and reading says why.
  pollfd ready{nic.tap.fd(), POLLIN, 0};
  CHECK(::poll(&ready, 1, 1000) == 1);
  vnic::FrameBatch batch(4);
  CHECK_THROWS_WITH(nic.tap.read_batch(batch), Catch::StartsWith("vnicmon4: reading frame: "));
}
