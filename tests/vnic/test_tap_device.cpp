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

namespace {

std::string output_in(const std::string& netns, std::vector<std::string> command) {
  command.insert(command.begin(), {"ip", "-n", netns});
  return vnic_tools::run_checked(command);
}

}  // namespace

TEST_CASE("a persistent TAP outlives its owner without carrier and is re-attached as it was", "[vnic][tap][persist]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  const TapOptions options{.name = "vnic0", .persistent = true};
  int ifindex = 0;
  {
    auto first = vnic::test::open_tap_in(ns.name(), options);
    CHECK_FALSE(first.tap.reattached());
    CHECK(first.link.alias() == vnic::kTapAlias);
    CHECK(first.link.kind() == "tun");
    vnic::test::bring_up(first, "10.77.12.1/24");
    first.link.set_mtu(1400);
    output_in(ns.name(), {"route", "add", "10.77.99.0/24", "via", "10.77.12.2", "dev", "vnic0"});
    ifindex = first.tap.ifindex();
    CHECK(first.link.state().carrier);
    // What a started daemon says; a kill -9 leaves the interface the same way.
    first.tap.keep_on_close(true);
  }
  REQUIRE(interface_exists(ns.name(), "vnic0"));
  auto left = in_netns(ns.name(), [] { return LinkControl("vnic0"); });
  CHECK(left.ifindex() == ifindex);
  CHECK_FALSE(left.state().carrier);  // no queue attached: the kernel drops carrier
  CHECK(left.state().admin_up);
  CHECK(left.mtu() == 1400);
  CHECK(left.addresses(vnic::IpFamily::ipv4) == std::vector<std::string>{"10.77.12.1/24"});

  {
    auto second = vnic::test::open_tap_in(ns.name(), options);
    CHECK(second.tap.reattached());
    CHECK(second.tap.ifindex() == ifindex);
    CHECK_FALSE(second.link.state().carrier);
    CHECK(second.link.addresses(vnic::IpFamily::ipv4) == std::vector<std::string>{"10.77.12.1/24"});
    CHECK(second.link.mtu() == 1400);
    CHECK(output_in(ns.name(), {"route", "show", "10.77.99.0/24"}).find("via 10.77.12.2") != std::string::npos);
    // Idempotent: the address already there is no error.
    CHECK_FALSE(second.link.ensure_address("10.77.12.1/24"));
    second.tap.set_carrier(true);
    CHECK(second.link.state().carrier);

    SECTION("while attached, nobody else attaches") {
      CHECK_THROWS_WITH(in_netns(ns.name(), [&] { return TapDevice(options); }),
                        Catch::Contains("another process has it open"));
    }
    SECTION("keep_on_close(false) removes it with its last owner") { second.tap.keep_on_close(false); }
  }
  // The first section left it (re-attached: kept by default), the second removed it.
  if (interface_exists(ns.name(), "vnic0")) {
    auto third = vnic::test::open_tap_in(ns.name(), options);
    CHECK(third.tap.reattached());
    third.tap.keep_on_close(false);
  }
}

TEST_CASE("a persistent TAP never takes over an interface vnicd did not make", "[vnic][tap][persist]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  const TapOptions options{.name = "vnic0", .persistent = true};
  SECTION("a veth") {
    output_in(ns.name(), {"link", "add", "vnic0", "type", "veth", "peer", "name", "vnic0p"});
    CHECK_THROWS_MATCHES(in_netns(ns.name(), [&] { return TapDevice(options); }), vnic::Error,
                         Catch::Matchers::Message("vnic0: interface name already in use by a veth interface that "
                                                  "vnicd did not make (no vnicd alias): refusing to take it over; "
                                                  "remove or rename it"));
    CHECK(interface_exists(ns.name(), "vnic0p"));
  }
  SECTION("a veth that carries vnicd's alias") {
    // The alias alone does not make it ours: it must be a TAP too.
    output_in(ns.name(), {"link", "add", "vnic0", "type", "veth", "peer", "name", "vnic0p"});
    output_in(ns.name(), {"link", "set", "vnic0", "alias", vnic::kTapAlias});
    CHECK_THROWS_WITH(in_netns(ns.name(), [&] { return TapDevice(options); }),
                      Catch::Contains("by a veth interface that vnicd did not make (alias \""));
  }
  SECTION("a persistent TAP somebody else made") {
    output_in(ns.name(), {"tuntap", "add", "dev", "vnic0", "mode", "tap", "vnet_hdr"});
    CHECK_THROWS_WITH(in_netns(ns.name(), [&] { return TapDevice(options); }),
                      Catch::Contains("by a tun interface that vnicd did not make (no vnicd alias)"));
  }
  // Refused and untouched.
  CHECK(interface_exists(ns.name(), "vnic0"));
  CHECK(in_netns(ns.name(), [] { return LinkControl("vnic0").state().admin_up; }) == false);
}

TEST_CASE("a persistent TAP whose start fails is removed, one it re-attached to stays", "[vnic][tap][persist]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  TapOptions bad{.name = "vnic0", .persistent = true};
  bad.tx_queue_len = 0x80000000U;  // refused after the TAP exists
  CHECK_THROWS_WITH(in_netns(ns.name(), [&] { return TapDevice(bad); }), Catch::StartsWith("vnic0: setting txqueuelen"));
  CHECK_FALSE(interface_exists(ns.name(), "vnic0"));

  {
    auto kept = vnic::test::open_tap_in(ns.name(), TapOptions{.name = "vnic0", .persistent = true});
    kept.tap.keep_on_close(true);
  }
  CHECK_THROWS_WITH(in_netns(ns.name(), [&] { return TapDevice(bad); }), Catch::StartsWith("vnic0: setting txqueuelen"));
  CHECK(interface_exists(ns.name(), "vnic0"));
}
