#include <catch2/catch.hpp>

#include <array>
#include <vector>

#include "blockxport/crc32c.h"
#include "blockxport/format.h"
#include "blockxport/format_offsets.h"
#include "blockxport/le.h"

using namespace blockxport;

namespace {

Superblock sample_superblock() {
  Superblock sb;
  for (size_t i = 0; i < sb.uuid.size(); ++i) sb.uuid[i] = std::byte(0x10 + i);
  sb.block_size = 65536;
  sb.slot_count = 2;
  sb.ring_blocks = 4000;
  sb.created_unix_ns = 1'700'000'000'123'456'789ull;
  sb.label = "site-a to site-b";
  return sb;
}

std::vector<std::byte> encoded(const Superblock& sb) {
  std::vector<std::byte> out(4096);
  encode_superblock(sb, std::span<std::byte, kSuperblockBytes>(out.data(), kSuperblockBytes));
  return out;
}

}  // namespace

TEST_CASE("superblock round trip at the documented offsets", "[format]") {
  Superblock sb = sample_superblock();
  auto bytes = encoded(sb);
  // A few fields read straight from their documented offsets (docs/FORMAT.md).
  CHECK(std::string(reinterpret_cast<const char*>(bytes.data()), 8) == "VNICSUPR");
  CHECK(le::u32(bytes.data() + 0x008) == kFormatVersion);
  CHECK(le::u32(bytes.data() + 0x020) == 65536);
  CHECK(le::u32(bytes.data() + 0x024) == 2);
  CHECK(le::u64(bytes.data() + 0x028) == 4000);
  CHECK(le::u64(bytes.data() + 0x040) == 65536);  // rings start at the first block boundary
  auto decoded = decode_superblock(bytes);
  REQUIRE(decoded.error == DecodeError::none);
  CHECK(decoded.superblock.uuid == sb.uuid);
  CHECK(decoded.superblock.block_size == sb.block_size);
  CHECK(decoded.superblock.slot_count == sb.slot_count);
  CHECK(decoded.superblock.ring_blocks == sb.ring_blocks);
  CHECK(decoded.superblock.created_unix_ns == sb.created_unix_ns);
  CHECK(decoded.superblock.label == sb.label);
}

TEST_CASE("superblock layout arithmetic", "[format]") {
  Superblock sb = sample_superblock();
  CHECK(sb.state_record_offset(0) == 4096);
  CHECK(sb.state_record_offset(1) == 8192);
  CHECK(sb.rings_offset() == 65536);
  CHECK(sb.ring_offset(1) == 65536 + 4000ull * 65536);
  CHECK(sb.block_offset(0, 4001) == 65536 + 65536);
  CHECK(sb.required_volume_bytes() == 65536 + 2 * 4000ull * 65536);
  CHECK(rings_offset_for(4096, 64) == 4096 + 64 * 4096);
  CHECK(rings_offset_for(1 << 20, 64) == 1 << 20);
}

TEST_CASE("every single-bit flip of a superblock is rejected", "[format]") {
  auto bytes = encoded(sample_superblock());
  for (size_t bit = 0; bit < kSuperblockBytes * 8; ++bit) {
    auto flipped = bytes;
    flipped[bit / 8] ^= std::byte(1u << (bit % 8));
    auto decoded = decode_superblock(flipped);
    INFO("bit " << bit);
    REQUIRE(decoded.error != DecodeError::none);
    REQUIRE_FALSE(decoded.message.empty());
  }
}

TEST_CASE("superblock decode names what is wrong", "[format]") {
  std::vector<std::byte> zeros(4096);
  CHECK(decode_superblock(zeros).error == DecodeError::all_zero);

  auto bytes = encoded(sample_superblock());
  auto bad_magic = bytes;
  bad_magic[0] = std::byte{'X'};
  CHECK(decode_superblock(bad_magic).error == DecodeError::bad_magic);

  Superblock other = sample_superblock();
  other.format_version = 9;
  auto other_version = encoded(other);
  auto d = decode_superblock(other_version);
  CHECK(d.error == DecodeError::bad_version);
  CHECK_THAT(d.message, Catch::Contains("version 9"));

  Superblock odd = sample_superblock();
  odd.block_size = 3000;
  d = decode_superblock(encoded(odd));
  CHECK(d.error == DecodeError::bad_field);
  CHECK_THAT(d.message, Catch::Contains("3000"));

  Superblock many = sample_superblock();
  many.slot_count = 65;
  CHECK(decode_superblock(encoded(many)).error == DecodeError::bad_field);

  Superblock short_ring = sample_superblock();
  short_ring.ring_blocks = 2;
  CHECK(decode_superblock(encoded(short_ring)).error == DecodeError::bad_field);

  CHECK(decode_superblock(std::span(bytes).first(100)).error == DecodeError::bad_field);
}

TEST_CASE("a superblock whose layout would wrap 64-bit offsets is refused", "[format]") {
  // Found by fuzz_superblock: 64 slots of 2^38 blocks of 1 MiB pass every range check, but the
  // rings end past 2^64 bytes, so offsets wrap: the size check passed on a 1 MiB volume and slot
  // 63's last block landed on the superblock.
  Superblock huge = sample_superblock();
  huge.block_size = 1 << 20;
  huge.slot_count = 64;
  huge.ring_blocks = uint64_t{1} << 38;
  auto d = decode_superblock(encoded(huge));
  CHECK(d.error == DecodeError::bad_field);
  CHECK_THAT(d.message, Catch::Contains("larger than any volume"));
  // The largest layouts still accepted fit in 2^62 bytes, well inside 64-bit offsets.
  Superblock big = sample_superblock();
  big.block_size = 1 << 20;
  big.slot_count = 2;
  big.ring_blocks = uint64_t{1} << 30;
  d = decode_superblock(encoded(big));
  REQUIRE(d.error == DecodeError::none);
  CHECK(d.superblock.required_volume_bytes() > (uint64_t{1} << 50));
}

TEST_CASE("state record round trip and bit flips", "[format]") {
  StateRecord r;
  r.slot = 3;
  r.uuid = sample_superblock().uuid;
  r.epoch = 0x1122334455667788ull;
  r.status = WriterStatus::running;
  r.heartbeat = 99;
  r.head_sequence = 123456;
  r.writer_monotonic_ns = 777;
  r.epoch_first_sequence = 100000;
  r.acks[0] = 5;
  r.acks[63] = 6;
  std::vector<std::byte> bytes(4096);
  encode_state_record(r, std::span<std::byte, kStateRecordBytes>(bytes.data(), kStateRecordBytes));
  CHECK(std::string(reinterpret_cast<const char*>(bytes.data()), 8) == "VNICSTAT");
  CHECK(le::u64(bytes.data() + 0x030) == 99);
  CHECK(le::u64(bytes.data() + 0x038) == 123456);
  CHECK(le::u64(bytes.data() + 0x050) == 5);
  CHECK(le::u64(bytes.data() + 0x050 + 63 * 8) == 6);

  auto d = decode_state_record(bytes);
  REQUIRE(d.error == DecodeError::none);
  CHECK(d.record.slot == 3);
  CHECK(d.record.epoch == r.epoch);
  CHECK(d.record.status == WriterStatus::running);
  CHECK(d.record.heartbeat == 99);
  CHECK(d.record.head_sequence == 123456);
  CHECK(d.record.epoch_first_sequence == 100000);
  CHECK(d.record.acks == r.acks);

  for (size_t bit = 0; bit < kStateRecordBytes * 8; ++bit) {
    auto flipped = bytes;
    flipped[bit / 8] ^= std::byte(1u << (bit % 8));
    INFO("bit " << bit);
    REQUIRE(decode_state_record(flipped).error != DecodeError::none);
  }
  std::vector<std::byte> zeros(4096);
  CHECK(decode_state_record(zeros).error == DecodeError::all_zero);
}

namespace {

StateRecord shared_slot_record() {
  StateRecord r;
  r.version = kStateRecordVersion2;
  r.slot = 5;
  r.uuid = sample_superblock().uuid;
  r.epoch = 0x0102030405060708ull;
  r.status = WriterStatus::running;
  r.heartbeat = 42;
  r.head_sequence = 1000;
  r.epoch_first_sequence = 900;
  r.acks[0] = 11;
  r.acks[6] = 12;
  r.owner = "node-c";
  r.ifname = "vnic0";
  r.started_unix_ns = 1'780'000'000'000'000'000ull;
  return r;
}

}  // namespace

TEST_CASE("state record version 2 carries the owner, at the documented offsets, and every bit counts",
          "[format]") {
  namespace st = offsets::st;
  namespace st2 = offsets::st2;
  StateRecord r = shared_slot_record();
  std::vector<std::byte> bytes(kStateRecordStride);
  REQUIRE(encode_state_record(r, bytes) == kStateRecordV2Bytes);
  CHECK(le::u32(bytes.data() + st::version) == 2);
  CHECK(le::u64(bytes.data() + st::acks + 6 * 8) == 12);
  CHECK(std::string(reinterpret_cast<const char*>(bytes.data() + st2::owner)) == "node-c");
  CHECK(std::string(reinterpret_cast<const char*>(bytes.data() + st2::ifname)) == "vnic0");
  CHECK(le::u64(bytes.data() + st2::started) == r.started_unix_ns);

  auto d = decode_state_record(bytes);
  REQUIRE(d.error == DecodeError::none);
  CHECK(d.record.version == 2);
  CHECK(d.record.owner == "node-c");
  CHECK(d.record.ifname == "vnic0");
  CHECK(d.record.started_unix_ns == r.started_unix_ns);
  CHECK(d.record.acks == r.acks);
  CHECK(d.record.head_sequence == 1000);

  for (size_t bit = 0; bit < kStateRecordV2Bytes * 8; ++bit) {
    auto flipped = bytes;
    flipped[bit / 8] ^= std::byte(1u << (bit % 8));
    INFO("bit " << bit);
    REQUIRE(decode_state_record(flipped).error != DecodeError::none);
  }
}

TEST_CASE("state record version 2 refuses an owner that is not NUL-padded text", "[format]") {
  namespace st2 = offsets::st2;
  StateRecord r = shared_slot_record();
  r.owner = std::string(kOwnerNameBytes - 1, 'x');  // the longest that fits
  std::vector<std::byte> bytes(kStateRecordStride);
  encode_state_record(r, bytes);
  REQUIRE(decode_state_record(bytes).record.owner == r.owner);
  // A byte after the terminator, with a CRC that matches it: structurally wrong, not torn.
  r.owner = "ab";
  encode_state_record(r, bytes);
  bytes[st2::owner + 3] = std::byte{'z'};
  le::store<uint32_t>(bytes.data() + st2::crc, crc32c(std::span<const std::byte>(bytes.data(), st2::crc)));
  auto d = decode_state_record(bytes);
  CHECK(d.error == DecodeError::bad_field);
  CHECK(d.message.find("owner") != std::string::npos);
}

TEST_CASE("an authenticated version 2 record echoes every slot it reads; version 1 its one peer", "[format]") {
  namespace st2 = offsets::st2;
  StateRecord r = shared_slot_record();
  r.auth.emplace();
  r.auth->key_id = 0xabcdef01;
  r.auth->echoes[0] = {0x1111, 7};
  r.auth->echoes[63] = {0x6363, 9};
  r.auth->tag.fill(std::byte{0x5a});
  std::vector<std::byte> bytes(kStateRecordStride);
  REQUIRE(encode_state_record(r, bytes) == kAuthStateRecordV2Bytes);
  CHECK(le::u32(bytes.data() + st2::key_id) == 0xabcdef01);
  CHECK(le::u64(bytes.data() + st2::echoes + 63 * st2::echo_stride) == 0x6363);
  CHECK(le::u64(bytes.data() + st2::echoes + 63 * st2::echo_stride + 8) == 9);
  CHECK(state_record_mac_input(bytes).size() == st2::tag);
  auto d = decode_state_record(bytes);
  REQUIRE(d.error == DecodeError::none);
  REQUIRE(d.record.auth);
  CHECK(d.record.echo_of(0) == StateEcho{0x1111, 7});
  CHECK(d.record.echo_of(63) == StateEcho{0x6363, 9});
  CHECK(d.record.echo_of(1) == StateEcho{});

  StateRecord v1 = r;
  v1.version = kStateRecordVersion1;
  v1.auth->peer_epoch = 0x77;
  v1.auth->peer_heartbeat = 3;
  REQUIRE(encode_state_record(v1, bytes) == kAuthStateRecordBytes);
  auto d1 = decode_state_record(bytes);
  REQUIRE(d1.error == DecodeError::none);
  CHECK(d1.record.owner.empty());
  CHECK(d1.record.echo_of(0) == StateEcho{0x77, 3});
  CHECK(d1.record.echo_of(40) == StateEcho{0x77, 3});  // its one peer, whatever the slot
}
