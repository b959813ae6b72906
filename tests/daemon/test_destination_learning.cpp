// The shared LUN's learning table: a unicast frame goes to the one slot its destination was
// learned at, while that slot's writer that taught it is alive; everything else is flooded.
#include <catch2/catch.hpp>

#include <vector>

#include "daemon/destination_learning.h"

using vnicd::DestinationLearning;
using Bytes = std::vector<std::byte>;
using namespace std::chrono_literals;

namespace {

using Mac = std::array<uint8_t, 6>;
constexpr Mac kA = {0x02, 0, 0, 0, 0, 0xA}, kB = {0x02, 0, 0, 0, 0, 0xB}, kC = {0x02, 0, 0, 0, 0, 0xC};
constexpr Mac kBroadcast = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
constexpr Mac kIpv6Multicast = {0x33, 0x33, 0, 0, 0, 1};

Bytes ethernet(const Mac& to, const Mac& from) {
  Bytes f(60);
  for (size_t i = 0; i < 6; ++i) {
    f[i] = std::byte{to[i]};
    f[6 + i] = std::byte{from[i]};
  }
  f[12] = std::byte{0x08};
  return f;
}

}  // namespace

TEST_CASE("a learned unicast address gets its one slot; unknown, broadcast and multicast are flooded", "[daemon][shared]") {
  DestinationLearning table;
  DestinationLearning::LiveEpochs live{};
  live[2] = 0x22;
  live[5] = 0x55;
  auto now = blockxport::Clock::now();
  CHECK(table.destinations(ethernet(kB, kA), live, now) == blockxport::kAllDestinations);  // not learned yet
  table.learn(ethernet(kA, kB), 2, 0x22, now);  // B spoke from slot 2
  table.learn(ethernet(kBroadcast, kC), 5, 0x55, now);
  CHECK(table.size() == 2);
  CHECK(table.destinations(ethernet(kB, kA), live, now) == uint64_t{1} << 2);
  CHECK(table.destinations(ethernet(kC, kA), live, now) == uint64_t{1} << 5);
  CHECK(table.destinations(ethernet(kBroadcast, kA), live, now) == blockxport::kAllDestinations);
  CHECK(table.destinations(ethernet(kIpv6Multicast, kA), live, now) == blockxport::kAllDestinations);
  CHECK(table.stats().frames_directed == 2);
  CHECK(table.stats().frames_flooded == 3);
  // A group address as a source teaches nothing; a runt frame neither.
  table.learn(ethernet(kA, kBroadcast), 2, 0x22, now);
  table.learn(Bytes(10), 2, 0x22, now);
  CHECK(table.size() == 2);
}

TEST_CASE("an address is flooded again once the writer that taught it is gone or restarted, or it aged out",
          "[daemon][shared]") {
  DestinationLearning table(10s);
  DestinationLearning::LiveEpochs live{};
  live[2] = 0x22;
  auto now = blockxport::Clock::now();
  table.learn(ethernet(kA, kB), 2, 0x22, now);
  REQUIRE(table.destinations(ethernet(kB, kA), live, now) == uint64_t{1} << 2);
  live[2] = 0;  // dead
  CHECK(table.destinations(ethernet(kB, kA), live, now) == blockxport::kAllDestinations);
  live[2] = 0x23;  // a new writer in the slot: maybe another node
  CHECK(table.destinations(ethernet(kB, kA), live, now) == blockxport::kAllDestinations);
  table.learn(ethernet(kA, kB), 2, 0x23, now);  // it speaks: learned again
  CHECK(table.destinations(ethernet(kB, kA), live, now) == uint64_t{1} << 2);
  CHECK(table.destinations(ethernet(kB, kA), live, now + 11s) == blockxport::kAllDestinations);
  // B moves to slot 4 (another node took its address, or B another slot): counted, followed.
  live[4] = 0x44;
  table.learn(ethernet(kA, kB), 4, 0x44, now);
  CHECK(table.stats().addresses_moved == 1);
  CHECK(table.destinations(ethernet(kB, kA), live, now) == uint64_t{1} << 4);
}

TEST_CASE("a full table learns nothing more and floods what it could not learn", "[daemon][shared]") {
  DestinationLearning table;
  DestinationLearning::LiveEpochs live{};
  live[1] = 1;
  auto now = blockxport::Clock::now();
  for (uint32_t i = 0; i < DestinationLearning::kMaxEntries + 10; ++i) {
    Mac m = {0x02, 0, static_cast<uint8_t>(i >> 16), static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i), 1};
    table.learn(ethernet(kA, m), 1, 1, now);
  }
  CHECK(table.size() == DestinationLearning::kMaxEntries);
  CHECK(table.stats().table_full == 10);
  Mac last = {0x02, 0, 0, static_cast<uint8_t>((DestinationLearning::kMaxEntries + 9) >> 8),
              static_cast<uint8_t>(DestinationLearning::kMaxEntries + 9), 1};
  CHECK(table.destinations(ethernet(last, kA), live, now) == blockxport::kAllDestinations);
}
