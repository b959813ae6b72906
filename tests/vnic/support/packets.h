#pragma once

#include "vnic/mac_address.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

// Hand-built Ethernet frames for talking to a kernel through a TAP, and
// parsers for what it answers. Test-only: allocation and copies are fine here.
namespace vnic::test {

using Ipv4 = std::array<std::uint8_t, 4>;

Ipv4 ipv4(const char* dotted);

inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeArp = 0x0806;

std::vector<std::byte> arp_request(const MacAddress& sender_mac, Ipv4 sender_ip, Ipv4 target_ip);

std::vector<std::byte> icmp_echo_request(const MacAddress& src_mac, const MacAddress& dst_mac, Ipv4 src_ip, Ipv4 dst_ip,
                                         std::uint16_t id, std::uint16_t sequence, std::size_t payload_bytes);

std::uint16_t ether_type(std::span<const std::byte> frame);
MacAddress source_mac(std::span<const std::byte> frame);

struct ArpReply {
  MacAddress sender_mac;
  Ipv4 sender_ip;
  MacAddress target_mac;
  Ipv4 target_ip;
};
std::optional<ArpReply> parse_arp_reply(std::span<const std::byte> frame);

struct IcmpEchoReply {
  Ipv4 src_ip;
  Ipv4 dst_ip;
  std::uint16_t id;
  std::uint16_t sequence;
  bool checksums_ok;
};
std::optional<IcmpEchoReply> parse_icmp_echo_reply(std::span<const std::byte> frame);

}  // namespace vnic::test
