#include "vnic/vnet_header.h"

// The header names a struct field `class`; rename it only for this include.
#define class virtio_class
#include <linux/virtio_net.h>
#undef class

#include <cstddef>

namespace vnic {

static_assert(sizeof(virtio_net_hdr) == kVnetHeaderBytes);
static_assert(offsetof(virtio_net_hdr, hdr_len) == 2);
static_assert(offsetof(virtio_net_hdr, gso_size) == 4);
static_assert(offsetof(virtio_net_hdr, csum_start) == 6);
static_assert(offsetof(virtio_net_hdr, csum_offset) == 8);
static_assert(VnetHeader::kNeedsCsum == VIRTIO_NET_HDR_F_NEEDS_CSUM);
static_assert(VnetHeader::kDataValid == VIRTIO_NET_HDR_F_DATA_VALID);
static_assert(VnetHeader::kGsoTcpV4 == VIRTIO_NET_HDR_GSO_TCPV4);
static_assert(VnetHeader::kGsoUdp == VIRTIO_NET_HDR_GSO_UDP);
static_assert(VnetHeader::kGsoTcpV6 == VIRTIO_NET_HDR_GSO_TCPV6);
static_assert(VnetHeader::kGsoEcn == VIRTIO_NET_HDR_GSO_ECN);

namespace {

std::uint16_t load_le16(std::span<const std::byte, kVnetHeaderBytes> wire, std::size_t at) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(wire[at]) |
                                    (std::to_integer<unsigned>(wire[at + 1]) << 8));
}

void store_le16(std::span<std::byte, kVnetHeaderBytes> wire, std::size_t at, std::uint16_t value) {
  wire[at] = static_cast<std::byte>(value & 0xff);
  wire[at + 1] = static_cast<std::byte>(value >> 8);
}

}  // namespace

VnetHeader VnetHeader::decode(std::span<const std::byte, kVnetHeaderBytes> wire) {
  VnetHeader header;
  header.flags = std::to_integer<std::uint8_t>(wire[0]);
  header.gso_type = std::to_integer<std::uint8_t>(wire[1]);
  header.hdr_len = load_le16(wire, 2);
  header.gso_size = load_le16(wire, 4);
  header.csum_start = load_le16(wire, 6);
  header.csum_offset = load_le16(wire, 8);
  return header;
}

void VnetHeader::encode(std::span<std::byte, kVnetHeaderBytes> wire) const {
  wire[0] = static_cast<std::byte>(flags);
  wire[1] = static_cast<std::byte>(gso_type);
  store_le16(wire, 2, hdr_len);
  store_le16(wire, 4, gso_size);
  store_le16(wire, 6, csum_start);
  store_le16(wire, 8, csum_offset);
}

}  // namespace vnic
