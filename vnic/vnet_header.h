#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace vnic {

// Every frame a FrameDevice reads or writes starts with the legacy 10-byte
// struct virtio_net_hdr (no num_buffers field). The 12-byte _v1 layout only
// adds num_buffers, which is meaningless for a TAP (it is for mergeable virtio
// rx buffers), so the 10-byte form is set explicitly with TUNSETVNETHDRSZ.
// Multi-byte fields are little-endian on the wire on every host (TUNSETVNETLE),
// so frames stored by one node are readable by another of either endianness.
inline constexpr std::size_t kVnetHeaderBytes = 10;

// Decoded, host-order copy of a virtio_net_hdr. Decoding copies rather than
// casting the frame buffer, so frames need no particular alignment.
struct VnetHeader {
  // flags
  static constexpr std::uint8_t kNeedsCsum = 0x01;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
  static constexpr std::uint8_t kDataValid = 0x02;  // VIRTIO_NET_HDR_F_DATA_VALID

  // gso_type
  static constexpr std::uint8_t kGsoNone = 0;
  static constexpr std::uint8_t kGsoTcpV4 = 1;
  static constexpr std::uint8_t kGsoUdp = 3;
  static constexpr std::uint8_t kGsoTcpV6 = 4;
  static constexpr std::uint8_t kGsoUdpL4 = 5;  // USO, both IP versions
  static constexpr std::uint8_t kGsoEcn = 0x80;

  std::uint8_t flags = 0;
  std::uint8_t gso_type = kGsoNone;
  std::uint16_t hdr_len = 0;
  std::uint16_t gso_size = 0;
  std::uint16_t csum_start = 0;
  std::uint16_t csum_offset = 0;

  bool is_gso() const { return (gso_type & ~kGsoEcn) != kGsoNone; }

  static VnetHeader decode(std::span<const std::byte, kVnetHeaderBytes> wire);
  void encode(std::span<std::byte, kVnetHeaderBytes> wire) const;

  friend bool operator==(const VnetHeader&, const VnetHeader&) = default;
};

}  // namespace vnic
