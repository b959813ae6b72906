#include "vnic/error.h"
#include "vnic/link_control.h"
#include "vnic/mac_address.h"
#include "vnic/tap_device.h"

#include "tools/common/child_process.h"
#include "tests/vnic/support/netns.h"
#include "tests/vnic/support/tap_fixture.h"

#include <net/if.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using vnic::LinkControl;
using vnic::TapOptions;
using vnic::test::ScopedNetns;

namespace {

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

TEST_CASE("MTU is set and read back", "[vnic][link]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  auto nic = vnic::test::open_tap_in(ns.name(), TapOptions{.name = "vnicmtu0"});
  nic.link.set_mtu(9000);
  CHECK(nic.link.mtu() == 9000);
  nic.link.set_mtu(1500);
  CHECK(nic.link.mtu() == 1500);
  // What `ip` sees, not just what we think we set.
  CHECK_THAT(vnic_tools::run_checked({"ip", "-n", ns.name(), "link", "show", "vnicmtu0"}), Catch::Contains("mtu 1500"));
  CHECK_THROWS_WITH(nic.link.set_mtu(70000), Catch::StartsWith("vnicmtu0: setting MTU to 70000: "));
  CHECK(nic.link.mtu() == 1500);
}

TEST_CASE("MAC address is set and read back", "[vnic][link]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  auto nic = vnic::test::open_tap_in(ns.name(), TapOptions{.name = "vnicmac0"});
  const vnic::MacAddress mac = vnic::derive_local_mac("volume-uuid/slot-3");
  nic.link.set_mac(mac);
  CHECK(nic.link.mac() == mac);
  CHECK_THAT(vnic_tools::run_checked({"ip", "-n", ns.name(), "link", "show", "vnicmac0"}),
             Catch::Contains(mac.to_string()));
}

TEST_CASE("IPv4 and IPv6 addresses are added, listed and removed", "[vnic][link]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  auto nic = vnic::test::open_tap_in(ns.name(), TapOptions{.name = "vnicaddr0"});
  // Link-local IPv6 stays on the link, like everything else in 10.77/16 here.
  nic.link.add_address("10.77.3.1/24");
  nic.link.add_address("fe80::a4d:1/64");

  CHECK(contains(nic.link.addresses(), "10.77.3.1/24"));
  CHECK(contains(nic.link.addresses(), "fe80::a4d:1/64"));
  CHECK(nic.link.addresses(vnic::IpFamily::ipv4) == std::vector<std::string>{"10.77.3.1/24"});
  CHECK(contains(nic.link.addresses(vnic::IpFamily::ipv6), "fe80::a4d:1/64"));
  CHECK_FALSE(contains(nic.link.addresses(vnic::IpFamily::ipv6), "10.77.3.1/24"));
  const std::string shown = vnic_tools::run_checked({"ip", "-n", ns.name(), "addr", "show", "vnicaddr0"});
  CHECK_THAT(shown, Catch::Contains("inet 10.77.3.1/24 brd 10.77.3.255"));

  CHECK_THROWS_WITH(nic.link.add_address("10.77.3.1/24"),
                    Catch::StartsWith("vnicaddr0: adding address 10.77.3.1/24: "));

  nic.link.remove_address("10.77.3.1/24");
  CHECK(nic.link.addresses(vnic::IpFamily::ipv4).empty());
  nic.link.remove_address("fe80::a4d:1/64");
  CHECK_FALSE(contains(nic.link.addresses(), "fe80::a4d:1/64"));
  CHECK_THROWS_WITH(nic.link.remove_address("10.77.3.1/24"),
                    Catch::StartsWith("vnicaddr0: removing address 10.77.3.1/24: "));
}

TEST_CASE("a bad CIDR is a clear error naming it", "[vnic][link]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  auto nic = vnic::test::open_tap_in(ns.name(), TapOptions{.name = "vnicaddr1"});
  for (const char* bad : {"10.77.3.300/24", "10.77.3.1/33", "not-an-address", "default", "10.77.3.1"}) {
    INFO(bad);
    CHECK_THROWS_MATCHES(nic.link.add_address(bad), vnic::Error,
                         Catch::Matchers::Predicate<vnic::Error>(
                             [&](const vnic::Error& e) {
                               const std::string text = e.what();
                               return text.rfind("vnicaddr1: invalid CIDR \"", 0) == 0 &&
                                      text.find(bad) != std::string::npos;
                             },
                             "names the interface and the CIDR"));
  }
  CHECK(nic.link.addresses(vnic::IpFamily::ipv4).empty());
}

TEST_CASE("admin state is set and read back", "[vnic][link]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  auto nic = vnic::test::open_tap_in(ns.name(), TapOptions{.name = "vnicadm0"});
  CHECK_FALSE(nic.link.state().admin_up);
  nic.link.set_admin_up(true);
  CHECK(nic.link.state().admin_up);
  CHECK(nic.link.state().flags & IFF_UP);
  nic.link.set_admin_up(false);
  CHECK_FALSE(nic.link.state().admin_up);
}

TEST_CASE("a missing interface is a clear error", "[vnic][link]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  CHECK_THROWS_WITH(vnic::test::in_netns(ns.name(), [] { return LinkControl("vnicnone0"); }),
                    Catch::StartsWith("vnicnone0: looking up interface: "));
}
