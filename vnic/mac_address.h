#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace vnic {

class MacAddress {
 public:
  using Bytes = std::array<std::uint8_t, 6>;

  constexpr MacAddress() = default;
  constexpr explicit MacAddress(const Bytes& bytes) : bytes_(bytes) {}

  // Parses "aa:bb:cc:dd:ee:ff" (either case) as an address to assign to an
  // interface, so multicast (including broadcast) and all-zero addresses are
  // rejected. Throws std::invalid_argument naming the text and the reason.
  static MacAddress parse(std::string_view text);

  const Bytes& bytes() const { return bytes_; }
  bool is_multicast() const { return (bytes_[0] & 0x01) != 0; }
  bool is_locally_administered() const { return (bytes_[0] & 0x02) != 0; }
  bool is_zero() const { return bytes_ == Bytes{}; }

  // Lower-case "aa:bb:cc:dd:ee:ff".
  std::string to_string() const;

  friend constexpr bool operator==(const MacAddress&, const MacAddress&) = default;

 private:
  Bytes bytes_{};
};

// A locally administered unicast MAC derived from arbitrary seed bytes, e.g. a
// volume UUID followed by a slot number, so every node gets the same address
// on every start without storing it. The mapping must never change, or an
// upgrade would silently renumber every node: FNV-1a 64 over the seed, a splitmix64
// finaliser, the first six bytes of the result in big-endian order, then the
// locally-administered bit set and the multicast bit cleared.
MacAddress derive_local_mac(std::span<const std::byte> seed);
MacAddress derive_local_mac(std::string_view seed);

}  // namespace vnic
