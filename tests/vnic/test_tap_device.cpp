#include "vnic/error.h"
#include "vnic/link_control.h"
#include "vnic/tap_device.h"

#include "tools/common/child_process.h"
#include "tests/vnic/support/netns.h"
#include "tests/vnic/support/tap_fixture.h"
#include "tests/vnic/support/wait.h"

#include <net/if.h>

#include <catch2/catch.hpp>

#include <optional>

using namespace std::chrono_literals;
using vnic::LinkControl;
using vnic::OperState;
using vnic::TapDevice;
using vnic::TapOptions;
using vnic::test::in_netns;
using vnic::test::ScopedNetns;

namespace {

bool interface_exists(const std::string& netns, const std::string& ifname) {
  return in_netns(netns, [&] { return ::if_nametoindex(ifname.c_str()) != 0; });
}

}  // namespace

TEST_CASE("a TAP exists while open, starts without carrier, and vanishes on close", "[vnic][tap]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  {
    auto nic = vnic::test::open_tap_in(ns.name(), TapOptions{.name = "vnic0"});
    CHECK(nic.tap.name() == "vnic0");
    CHECK(interface_exists(ns.name(), "vnic0"));
    CHECK(nic.tap.ifindex() == nic.link.ifindex());
    CHECK(nic.tap.fd() >= 0);

    nic.link.set_admin_up(true);
    const vnic::LinkState down = nic.link.state();
    CHECK(down.admin_up);
    CHECK_FALSE(down.carrier);
    CHECK_FALSE(down.lower_up);
    CHECK(down.operstate != OperState::up);

    nic.tap.set_carrier(true);
    CHECK(nic.link.state().lower_up);
    CHECK(nic.link.state().carrier);
    // operstate follows through the kernel's linkwatch, up to ~1 s later.
    CHECK(vnic::test::wait_until([&] { return nic.link.state().operstate == OperState::up; }, 5s));

    nic.tap.set_carrier(false);
    CHECK_FALSE(nic.link.state().lower_up);
    CHECK_FALSE(nic.link.state().carrier);
    CHECK(vnic::test::wait_until([&] { return nic.link.state().operstate != OperState::up; }, 5s));
  }
  CHECK_FALSE(interface_exists(ns.name(), "vnic0"));
}

TEST_CASE("a TAP name already in use is a clear error", "[vnic][tap]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;

  SECTION("taken by another TAP") {
    auto first = vnic::test::open_tap_in(ns.name(), TapOptions{.name = "vnic0"});
    CHECK_THROWS_MATCHES(in_netns(ns.name(), [] { return TapDevice(TapOptions{.name = "vnic0"}); }), vnic::Error,
                         Catch::Matchers::Message("vnic0: interface name already in use"));
    // The failed attempt must not have disturbed the first TAP.
    CHECK(first.link.state().ifindex == first.tap.ifindex());
  }
  SECTION("taken by a veth") {
    vnic_tools::run_checked({"ip", "-n", ns.name(), "link", "add", "vnic0", "type", "veth", "peer", "name", "vnic0p"});
    CHECK_THROWS_MATCHES(in_netns(ns.name(), [] { return TapDevice(TapOptions{.name = "vnic0"}); }), vnic::Error,
                         Catch::Matchers::Message("vnic0: interface name already in use"));
    CHECK(interface_exists(ns.name(), "vnic0p"));
  }
}

TEST_CASE("a failed TAP start leaves no interface behind", "[vnic][tap]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  // txqueuelen is applied after the TAP exists; an impossible value fails there.
  TapOptions options{.name = "vnicfail0"};
  options.tx_queue_len = 0x80000000U;
  CHECK_THROWS_WITH(in_netns(ns.name(), [&] { return TapDevice(options); }),
                    Catch::StartsWith("vnicfail0: setting txqueuelen"));
  CHECK_FALSE(interface_exists(ns.name(), "vnicfail0"));

  CHECK_THROWS_WITH(in_netns(ns.name(), [] { return TapDevice(TapOptions{.name = "a-name-much-too-long"}); }),
                    Catch::Contains("name longer than 15"));
}

TEST_CASE("offloads are negotiated, or forced off", "[vnic][tap]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  auto with = vnic::test::open_tap_in(ns.name(), TapOptions{.name = "vnicoff0"});
  auto without = vnic::test::open_tap_in(ns.name(), TapOptions{.name = "vnicoff1", .offload = false});
  INFO("negotiated: " << with.tap.offloads().to_string());
  WARN("kernel negotiated offloads: " << with.tap.offloads().to_string());
  CHECK(with.tap.offloads().has(vnic::Offload::csum));
  CHECK(with.tap.offloads().has(vnic::Offload::tso4));
  CHECK(with.tap.offloads().has(vnic::Offload::tso6));
  CHECK(without.tap.offloads() == vnic::Offloads::none());
  CHECK(without.tap.offloads().to_string() == "none");
}

TEST_CASE("txqueuelen is applied when asked for", "[vnic][tap]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  TapOptions options{.name = "vnicq0"};
  options.tx_queue_len = 64;
  auto nic = vnic::test::open_tap_in(ns.name(), options);
  CHECK(nic.link.state().tx_queue_len == 64);
}
