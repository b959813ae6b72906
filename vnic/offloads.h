#pragma once

#include <string>

namespace vnic {

// One TUN_F_* bit of TUNSETOFFLOAD: a kind of not-yet-finished frame the
// kernel may hand to the reader instead of doing the work itself.
// Values are the kernel ABI (linux/if_tun.h), fixed forever.
enum class Offload : unsigned {
  csum = 0x01,     // L4 checksum left to the receiver (VIRTIO_NET_HDR_F_NEEDS_CSUM)
  tso4 = 0x02,     // TCP/IPv4 super-frames up to 64 KiB
  tso6 = 0x04,     // TCP/IPv6 super-frames
  tso_ecn = 0x08,  // TSO super-frames with CWR set
  uso4 = 0x20,     // UDP/IPv4 segmentation offload (kernel 6.2+)
  uso6 = 0x40,     // UDP/IPv6 segmentation offload (kernel 6.2+)
};

// The offloads a device negotiated. Whoever carries its frames must keep the
// virtio-net header with each frame: a GSO super-frame is meaningless without it.
class Offloads {
 public:
  constexpr Offloads() = default;
  constexpr explicit Offloads(unsigned tun_flags) : tun_flags_(tun_flags) {}

  static constexpr Offloads none() { return Offloads{}; }

  constexpr bool has(Offload offload) const { return (tun_flags_ & static_cast<unsigned>(offload)) != 0; }
  constexpr bool any() const { return tun_flags_ != 0; }
  constexpr unsigned tun_flags() const { return tun_flags_; }

  // "csum tso4 tso6 tso_ecn uso4 uso6", or "none".
  std::string to_string() const;

  friend constexpr bool operator==(Offloads, Offloads) = default;

 private:
  unsigned tun_flags_ = 0;
};

constexpr Offloads operator|(Offload a, Offload b) {
  return Offloads{static_cast<unsigned>(a) | static_cast<unsigned>(b)};
}
constexpr Offloads operator|(Offloads a, Offload b) { return Offloads{a.tun_flags() | static_cast<unsigned>(b)}; }

}  // namespace vnic
