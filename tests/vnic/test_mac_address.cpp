#include "vnic/mac_address.h"

#include <catch2/catch.hpp>

#include <array>
#include <set>
#include <string>

using vnic::MacAddress;

TEST_CASE("MAC addresses parse and format round trip", "[vnic][mac]") {
  const MacAddress mac = MacAddress::parse("02:AB:cd:00:7f:ff");
  CHECK(mac.bytes() == MacAddress::Bytes{0x02, 0xab, 0xcd, 0x00, 0x7f, 0xff});
  CHECK(mac.to_string() == "02:ab:cd:00:7f:ff");
  CHECK(MacAddress::parse(mac.to_string()) == mac);
}

TEST_CASE("MAC parsing rejects what cannot be an interface address", "[vnic][mac]") {
  CHECK_THROWS_WITH(MacAddress::parse("00:00:00:00:00:00"), Catch::Contains("all-zero"));
  CHECK_THROWS_WITH(MacAddress::parse("01:00:5e:00:00:01"), Catch::Contains("multicast"));
  CHECK_THROWS_WITH(MacAddress::parse("ff:ff:ff:ff:ff:ff"), Catch::Contains("multicast"));
  CHECK_THROWS_WITH(MacAddress::parse("02:00:00:00:00"), Catch::Contains("\"02:00:00:00:00\""));
  CHECK_THROWS_AS(MacAddress::parse("02-00-00-00-00-01"), std::invalid_argument);
  CHECK_THROWS_AS(MacAddress::parse("02:00:00:00:00:0g"), std::invalid_argument);
  CHECK_THROWS_AS(MacAddress::parse(" 02:00:00:00:00:01"), std::invalid_argument);
}

TEST_CASE("derived MACs are stable, local and unicast", "[vnic][mac]") {
  const MacAddress first = vnic::derive_local_mac("3f2a9c1e-volume-uuid/slot-1");
  CHECK(first == vnic::derive_local_mac("3f2a9c1e-volume-uuid/slot-1"));
  CHECK(first != vnic::derive_local_mac("3f2a9c1e-volume-uuid/slot-2"));
  // Frozen: every node and every version must derive the same address.
  CHECK(first.to_string() == "2a:ce:dc:0b:66:9a");
  std::array<std::byte, 17> uuid_and_slot{};
  for (std::size_t i = 0; i < 16; ++i) {
    uuid_and_slot[i] = static_cast<std::byte>(i);
  }
  uuid_and_slot[16] = std::byte{1};
  CHECK(vnic::derive_local_mac(uuid_and_slot).to_string() == "36:9a:e1:c7:d8:17");

  std::set<std::string> seen;
  for (int slot = 0; slot < 256; ++slot) {
    const MacAddress mac = vnic::derive_local_mac("volume/" + std::to_string(slot));
    CHECK(mac.is_locally_administered());
    CHECK_FALSE(mac.is_multicast());
    CHECK_FALSE(mac.is_zero());
    CHECK_NOTHROW(MacAddress::parse(mac.to_string()));
    seen.insert(mac.to_string());
  }
  CHECK(seen.size() == 256);
  CHECK(vnic::derive_local_mac(std::string_view{}).is_locally_administered());
}
