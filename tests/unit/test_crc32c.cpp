#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string_view>
#include <vector>

#include "blockxport/crc32c.h"

using blockxport::crc32c;
using blockxport::crc32c_portable;

namespace {
std::span<const std::byte> bytes_of(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}
}  // namespace

TEST_CASE("crc32c matches the published check values", "[crc32c]") {
  // RFC 3720 (iSCSI) appendix B.4 and the catalogue's "123456789" check value.
  CHECK(crc32c(bytes_of("123456789")) == 0xE3069283u);
  std::vector<std::byte> zeros(32, std::byte{0});
  CHECK(crc32c(zeros) == 0x8A9136AAu);
  std::vector<std::byte> ones(32, std::byte{0xFF});
  CHECK(crc32c(ones) == 0x62A8AB43u);
  std::vector<std::byte> ascending(32);
  for (size_t i = 0; i < 32; ++i) ascending[i] = std::byte(i);
  CHECK(crc32c(ascending) == 0x46DD794Eu);
  std::vector<std::byte> descending(32);
  for (size_t i = 0; i < 32; ++i) descending[i] = std::byte(31 - i);
  CHECK(crc32c(descending) == 0x113FDB5Cu);
  CHECK(crc32c({}) == 0u);
}

TEST_CASE("crc32c hardware and portable paths agree and chain", "[crc32c]") {
  std::mt19937_64 rng(7);
  std::vector<std::byte> data(70000);
  for (auto& b : data) b = std::byte(rng() & 0xFF);
  INFO("hardware crc32c available: " << blockxport::crc32c_hardware_available());
  for (size_t len : {0u, 1u, 7u, 8u, 9u, 63u, 64u, 4095u, 65536u, 70000u}) {
    for (size_t offset : {0u, 1u, 3u}) {
      if (offset + len > data.size()) continue;
      auto part = std::span<const std::byte>(data).subspan(offset, len);
      REQUIRE(crc32c(part) == crc32c_portable(part));
    }
  }
  auto all = std::span<const std::byte>(data);
  CHECK(crc32c(all.subspan(1000), crc32c(all.first(1000))) == crc32c(all));
  CHECK(crc32c_portable(all.subspan(3), crc32c_portable(all.first(3))) == crc32c_portable(all));
}

TEST_CASE("crc32c agrees with the portable path across the interleaving boundaries", "[crc32c]") {
  // The hardware path splits its input into three streams of 8 KiB, then of 256 bytes, then one;
  // every length just around those multiples, at every alignment, must give the same value.
  std::mt19937_64 rng(11);
  std::vector<std::byte> data(3 * 8192 * 3 + 64);
  for (auto& b : data) b = std::byte(rng() & 0xFF);
  std::vector<size_t> lengths;
  for (size_t edge : {3u * 256, 2u * 3 * 256, 3u * 8192, 2u * 3 * 8192, 3u * 8192 + 3 * 256})
    for (size_t delta : {0u, 1u, 7u, 8u, 9u, 255u})
      for (int sign : {-1, 1}) lengths.push_back(sign < 0 ? edge - std::min(edge, delta) : edge + delta);
  for (int i = 0; i < 40; ++i) lengths.push_back(rng() % (data.size() - 8));
  for (size_t len : lengths) {
    for (size_t offset : {0u, 1u, 5u, 8u}) {
      if (offset + len > data.size()) continue;
      auto part = std::span<const std::byte>(data).subspan(offset, len);
      INFO("length " << len << " offset " << offset);
      REQUIRE(crc32c(part) == crc32c_portable(part));
      // Chaining through an arbitrary split gives the same value as one pass.
      size_t split = len / 3;
      REQUIRE(crc32c(part.subspan(split), crc32c(part.first(split))) == crc32c(part));
    }
  }
}
