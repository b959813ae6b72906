#include "vnic/frame_batch.h"
#include "vnic/offloads.h"

#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <set>
#include <vector>

using vnic::Frame;
using vnic::FrameBatch;
using vnic::VnetHeader;

TEST_CASE("virtio-net headers encode little-endian and decode back", "[vnic][frame]") {
  VnetHeader header;
  header.flags = VnetHeader::kNeedsCsum;
  header.gso_type = VnetHeader::kGsoTcpV4 | VnetHeader::kGsoEcn;
  header.hdr_len = 0x0102;
  header.gso_size = 1448;
  header.csum_start = 34;
  header.csum_offset = 16;

  std::array<std::byte, vnic::kVnetHeaderBytes> wire{};
  header.encode(wire);
  CHECK(wire[0] == std::byte{0x01});
  CHECK(wire[1] == std::byte{0x81});
  CHECK(wire[2] == std::byte{0x02});  // low byte first
  CHECK(wire[3] == std::byte{0x01});
  CHECK(VnetHeader::decode(wire) == header);
  CHECK(VnetHeader::decode(wire).is_gso());
  CHECK_FALSE(VnetHeader{}.is_gso());
}

TEST_CASE("a frame batch hands out disjoint preallocated slots", "[vnic][frame]") {
  FrameBatch batch(4, 128);
  CHECK(batch.slot_count() == 4);
  CHECK(batch.empty());
  CHECK(batch.free_slots().size() == 4);

  std::set<const std::byte*> starts;
  for (std::size_t i = 0; i < 4; ++i) {
    Frame& frame = batch.append();
    CHECK(frame.capacity() == 128);
    starts.insert(frame.slot().data());
    const std::array<std::byte, 20> ethernet{std::byte(i)};
    frame.assign(VnetHeader{}, ethernet);
    CHECK(frame.length() == vnic::kVnetHeaderBytes + ethernet.size());
    CHECK(frame.ethernet()[0] == std::byte(i));
  }
  CHECK(starts.size() == 4);
  CHECK(batch.full());
  CHECK_THROWS_AS(batch.append(), std::length_error);
  CHECK_THROWS_AS(batch[0].set_length(129), std::length_error);
  CHECK_THROWS_AS(batch[0].assign(VnetHeader{}, std::vector<std::byte>(119)), std::length_error);
}

TEST_CASE("consuming the front of a batch keeps order without copying frames", "[vnic][frame]") {
  FrameBatch batch(4, 64);
  std::vector<const std::byte*> data_of;
  for (std::size_t i = 0; i < 4; ++i) {
    Frame& frame = batch.append();
    frame.assign(VnetHeader{}, std::array<std::byte, 14>{std::byte(i)});
    data_of.push_back(frame.bytes().data());
  }
  batch.consume_front(3);
  REQUIRE(batch.size() == 1);
  CHECK(batch.frames()[0].ethernet()[0] == std::byte{3});
  CHECK(batch.frames()[0].bytes().data() == data_of[3]);  // moved descriptor, same bytes
  CHECK(batch.free_slots().size() == 3);

  // Freed slots are reusable, and all four slots are still distinct.
  std::set<const std::byte*> starts{batch[0].slot().data()};
  for (Frame& free : batch.free_slots()) {
    starts.insert(free.slot().data());
  }
  CHECK(starts.size() == 4);
  batch.consume_front(10);
  CHECK(batch.empty());
}

TEST_CASE("frame batches refuse unusable shapes", "[vnic][frame]") {
  CHECK_THROWS_AS(FrameBatch(0), std::invalid_argument);
  CHECK_THROWS_AS(FrameBatch(1, vnic::kVnetHeaderBytes + 13), std::invalid_argument);
  FrameBatch batch(1);
  CHECK(batch.slot_bytes() == vnic::kMaxFrameSlotBytes);
  CHECK(vnic::kMaxFrameSlotBytes >= 65550);
}

TEST_CASE("offloads describe themselves", "[vnic][frame]") {
  CHECK(vnic::Offloads::none().to_string() == "none");
  CHECK((vnic::Offload::csum | vnic::Offload::tso4 | vnic::Offload::uso6).to_string() == "csum tso4 uso6");
  CHECK(vnic::Offloads{0x7f}.to_string() == "csum tso4 tso6 tso_ecn uso4 uso6");
}
