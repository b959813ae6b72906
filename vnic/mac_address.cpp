#include "vnic/mac_address.h"

#include <fmt/format.h>

#include <stdexcept>

namespace vnic {

namespace {

constexpr std::size_t kTextLength = 17;  // "aa:bb:cc:dd:ee:ff"

int hex_digit(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

[[noreturn]] void reject(std::string_view text, std::string_view why) {
  throw std::invalid_argument(fmt::format("invalid MAC address \"{}\": {}", text, why));
}

std::uint64_t fnv1a64(std::span<const std::byte> data) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const std::byte b : data) {
    hash ^= std::to_integer<std::uint64_t>(b);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// FNV-1a alone leaves short inputs poorly mixed in the high bytes we keep.
std::uint64_t splitmix64_finalise(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

MacAddress MacAddress::parse(std::string_view text) {
  if (text.size() != kTextLength) {
    reject(text, "expected six hex octets like aa:bb:cc:dd:ee:ff");
  }
  Bytes bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const std::size_t at = i * 3;
    const int high = hex_digit(text[at]);
    const int low = hex_digit(text[at + 1]);
    if (high < 0 || low < 0 || (i + 1 < bytes.size() && text[at + 2] != ':')) {
      reject(text, "expected six hex octets like aa:bb:cc:dd:ee:ff");
    }
    bytes[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  const MacAddress mac(bytes);
  if (mac.is_zero()) {
    reject(text, "all-zero address");
  }
  if (mac.is_multicast()) {
    reject(text, "multicast address (low bit of first octet set) cannot be an interface address");
  }
  return mac;
}

std::string MacAddress::to_string() const {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", bytes_[0], bytes_[1], bytes_[2], bytes_[3], bytes_[4],
                     bytes_[5]);
}

MacAddress derive_local_mac(std::span<const std::byte> seed) {
  const std::uint64_t mixed = splitmix64_finalise(fnv1a64(seed));
  MacAddress::Bytes bytes{};
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<std::uint8_t>(mixed >> (56 - 8 * i));
  }
  bytes[0] = static_cast<std::uint8_t>((bytes[0] | 0x02) & ~0x01);
  return MacAddress(bytes);
}

MacAddress derive_local_mac(std::string_view seed) {
  return derive_local_mac(std::as_bytes(std::span(seed.data(), seed.size())));
}

}  // namespace vnic
