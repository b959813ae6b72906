// The module's format code (kmod-shim/vnic_format.c, built here against a few stand-in kernel
// headers) against blockxport's: the same bytes from the same fields, and each decodes the
// other's. The module shares no code with blockxport; docs/FORMAT.md is the contract, and this is
// where a difference between the two implementations shows without a kernel.
#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <vector>

#include "blockxport/block_codec.h"
#include "blockxport/crc32c.h"
#include "blockxport/format.h"
#include "blockxport/format_offsets.h"

extern "C" {
#include "vnic_format.h"
}

using namespace blockxport;

namespace {

Superblock sample_superblock(uint32_t slots) {
  Superblock sb;
  for (size_t i = 0; i < sb.uuid.size(); ++i) sb.uuid[i] = std::byte(0x40 + i);
  sb.block_size = 65536;
  sb.slot_count = slots;
  sb.ring_blocks = 1000;
  sb.created_unix_ns = 1'700'000'000'123'456'789ull;
  sb.label = "kmod";
  return sb;
}

std::vector<u8> encoded(const Superblock& sb) {
  std::vector<u8> out(4096);
  encode_superblock(sb, std::span<std::byte, kSuperblockBytes>(reinterpret_cast<std::byte*>(out.data()), kSuperblockBytes));
  return out;
}

std::span<const std::byte> bytes_of(const std::vector<u8>& v) {
  return {reinterpret_cast<const std::byte*>(v.data()), v.size()};
}

vnic_superblock module_superblock(const Superblock& sb) {
  vnic_superblock out{};
  std::memcpy(out.uuid, sb.uuid.data(), 16);
  out.block_size = sb.block_size;
  out.slot_count = sb.slot_count;
  out.ring_blocks = sb.ring_blocks;
  return out;
}

}  // namespace

TEST_CASE("kmod: the kernel's raw crc32c, inverted as FORMAT.md says, is blockxport's CRC32C", "[kmod]") {
  CHECK(vnic_crc32c_self_test());
  std::vector<u8> data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<u8>(i * 7 + 3);
  uint32_t chained = vnic_crc32c(vnic_crc32c(0, data.data(), 300), data.data() + 300, 700);
  CHECK(chained == crc32c(bytes_of(data)));
}

TEST_CASE("kmod: superblocks vnicctl writes decode in the module, and bad ones are refused by name", "[kmod]") {
  Superblock sb = sample_superblock(1);
  auto bytes = encoded(sb);
  vnic_superblock got{};
  char msg[160];
  REQUIRE(vnic_decode_superblock(bytes.data(), &got, msg, sizeof(msg)) == VNIC_DECODE_OK);
  CHECK(std::memcmp(got.uuid, sb.uuid.data(), 16) == 0);
  CHECK(got.block_size == sb.block_size);
  CHECK(got.slot_count == 1);
  CHECK(got.ring_blocks == sb.ring_blocks);
  CHECK(std::string(got.label) == "kmod");
  CHECK(vnic_required_bytes(&got) == sb.required_volume_bytes());

  auto flipped = bytes;
  flipped[0x30] ^= 1;  // state_table_offset, under the CRC
  CHECK(vnic_decode_superblock(flipped.data(), &got, msg, sizeof(msg)) == VNIC_DECODE_BAD_CHECKSUM);
  CHECK(std::string(msg).find("checksum") != std::string::npos);
  std::vector<u8> zeros(4096);
  CHECK(vnic_decode_superblock(zeros.data(), &got, msg, sizeof(msg)) == VNIC_DECODE_ALL_ZERO);
  auto magic = bytes;
  magic[0] = 'X';
  CHECK(vnic_decode_superblock(magic.data(), &got, msg, sizeof(msg)) == VNIC_DECODE_BAD_MAGIC);
}

TEST_CASE("kmod: ring and record offsets are blockxport's, for a pair and for a shared LUN", "[kmod]") {
  for (uint32_t slots : {1u, 3u, 64u}) {
    for (uint32_t block_size : {4096u, 65536u, 1u << 20}) {
      Superblock sb = sample_superblock(slots);
      sb.block_size = block_size;
      vnic_superblock m = module_superblock(sb);
      CHECK(vnic_rings_offset(block_size, slots) == sb.rings_offset());
      CHECK(vnic_required_bytes(&m) == sb.required_volume_bytes());
      CHECK(vnic_volume_tag(&m) == sb.volume_tag());
      for (uint32_t slot : {0u, slots - 1}) {
        CHECK(vnic_state_offset(slot) == sb.state_record_offset(slot));
        for (uint64_t s : {1ull, 999ull, 1000ull, 123457ull}) CHECK(vnic_block_offset(&m, slot, s) == sb.block_offset(slot, s));
      }
    }
  }
}

TEST_CASE("kmod: state records are byte for byte blockxport's, both ways, versions 1 and 2", "[kmod]") {
  for (uint32_t version : {1u, 2u}) {
    StateRecord r;
    r.version = version;
    r.slot = version == 1 ? 0 : 5;
    for (size_t i = 0; i < 16; ++i) r.uuid[i] = std::byte(0x40 + i);
    r.epoch = 0x1122334455667788ull;
    r.status = WriterStatus::running;
    r.heartbeat = 4242;
    r.head_sequence = 777;
    r.writer_monotonic_ns = 123'456'789'012ull;
    r.epoch_first_sequence = 700;
    r.acks[0] = 650;
    r.acks[63] = 9;
    if (version == 2) {
      r.owner = "node-c";
      r.ifname = "vnic0";
      r.started_unix_ns = 1'700'000'000'000'000'000ull;
    }
    std::vector<u8> theirs(4096), ours(4096);
    size_t their_length = encode_state_record(r, std::span<std::byte>(reinterpret_cast<std::byte*>(theirs.data()), 4096));

    vnic_state_record m{};
    m.version = version;
    m.slot = r.slot;
    std::memcpy(m.uuid, r.uuid.data(), 16);
    m.epoch = r.epoch;
    m.status = VNIC_STATUS_RUNNING;
    m.heartbeat = r.heartbeat;
    m.head_sequence = r.head_sequence;
    m.writer_monotonic_ns = r.writer_monotonic_ns;
    m.epoch_first_sequence = r.epoch_first_sequence;
    m.acks[0] = 650;
    m.acks[63] = 9;
    std::strcpy(m.owner, r.owner.c_str());
    std::strcpy(m.ifname, r.ifname.c_str());
    m.started_unix_ns = r.started_unix_ns;
    size_t our_length = vnic_encode_state_record(&m, ours.data());
    CHECK(our_length == their_length);
    CHECK(ours == theirs);

    auto back = decode_state_record(bytes_of(ours));
    REQUIRE(back.error == DecodeError::none);
    CHECK(back.record.head_sequence == 777);
    CHECK(back.record.owner == r.owner);

    vnic_state_record decoded{};
    REQUIRE(vnic_decode_state_record(theirs.data(), &decoded) == VNIC_DECODE_OK);
    CHECK(decoded.epoch == r.epoch);
    CHECK(decoded.heartbeat == r.heartbeat);
    CHECK(decoded.acks[0] == 650);
    CHECK(decoded.acks[63] == 9);
    CHECK(std::string(decoded.owner) == r.owner);

    auto torn = theirs;
    torn[0x30] ^= 0x80;  // the heartbeat
    CHECK(vnic_decode_state_record(torn.data(), &decoded) == VNIC_DECODE_BAD_CHECKSUM);
  }
}

TEST_CASE("kmod: an authenticated record is unreadable to the module (it has no keys)", "[kmod]") {
  StateRecord r;
  r.status = WriterStatus::running;
  r.epoch = 1;
  r.auth.emplace();
  std::vector<u8> bytes(4096);
  encode_state_record(r, std::span<std::byte>(reinterpret_cast<std::byte*>(bytes.data()), 4096));
  vnic_state_record decoded{};
  CHECK(vnic_decode_state_record(bytes.data(), &decoded) == VNIC_DECODE_NO_KEY);
}

// The module's side of a block blockxport built: FRAMES as records after the header (the last frame
// cut at SPLIT_AT, where blockxport's builder cut it), the header from THEIRS' fields, sealed.
static std::vector<u8> module_block(uint32_t block_size, u16 version, uint64_t destinations,
                                    const std::vector<std::vector<std::byte>>& frames, size_t split_at,
                                    const BlockHeader& theirs, vnic_block_header& mh) {
  std::vector<u8> ours(block_size);
  u32 used = vnic_block_header_bytes(version), records = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    u32 take = static_cast<u32>(i + 1 < frames.size() ? frames[i].size() : split_at);
    u16 flags = VNIC_RECORD_FIRST | (take == frames[i].size() ? VNIC_RECORD_LAST : 0);
    vnic_encode_record_header(ours.data() + used, take, flags);
    std::memcpy(ours.data() + used + VNIC_RECORD_HEADER_BYTES, frames[i].data(), take);
    used += VNIC_RECORD_HEADER_BYTES + take;
    ++records;
  }
  mh = vnic_block_header{};
  mh.version = version;
  mh.destinations = destinations;
  mh.slot = theirs.slot;
  mh.record_count = records;
  mh.epoch = theirs.epoch;
  mh.sequence = theirs.sequence;
  mh.writer_timestamp_ns = theirs.writer_timestamp_ns;
  mh.valid_bytes = used;
  mh.volume_tag = theirs.volume_tag;
  vnic_encode_block_header(&mh, ours.data());
  vnic_finish_block(ours.data());
  return ours;
}

TEST_CASE("kmod: a block the module seals is the block blockxport builds, and each decodes the other's", "[kmod]") {
  const uint32_t block_size = 8192;
  // Three frames, the last split into the next block as vnicd would split it.
  std::vector<std::vector<std::byte>> frames = {std::vector<std::byte>(100, std::byte{0xAA}),
                                                std::vector<std::byte>(1500, std::byte{0x55}),
                                                std::vector<std::byte>(9000, std::byte{0x0F})};
  std::vector<std::byte> theirs(block_size);
  BlockBuilder builder;
  builder.start(theirs);
  size_t split_at = 0;
  for (auto& f : frames) split_at = builder.append(f, 0);
  BlockHeader h;
  h.slot = 0;
  h.epoch = 0xABCDEF;
  h.sequence = 42;
  h.writer_timestamp_ns = 5'000'000'000ull;
  h.volume_tag = 0x4746454443424140ull;
  builder.seal(h, 0);

  vnic_block_header mh{};
  std::vector<u8> ours = module_block(block_size, 1, VNIC_ALL_DESTINATIONS, frames, split_at, h, mh);
  const u32 used = mh.valid_bytes;
  CHECK(std::memcmp(ours.data(), theirs.data(), block_size) == 0);

  auto decoded = decode_block(std::span<const std::byte>(reinterpret_cast<const std::byte*>(ours.data()), block_size), block_size);
  REQUIRE(decoded.check == BlockCheck::ok);
  CHECK(decoded.header.record_count == 3);

  vnic_block_header back{};
  auto* their_bytes = reinterpret_cast<const u8*>(theirs.data());
  REQUIRE(vnic_decode_block(their_bytes, block_size, block_size, &back) == VNIC_BLOCK_OK);
  CHECK(back.sequence == 42);
  CHECK(back.valid_bytes == used);
  // Only the first write unit read: the module asks for the rest.
  CHECK(vnic_decode_block(their_bytes, 4096, block_size, &back) == VNIC_BLOCK_NEED_MORE);

  auto damaged = ours;
  damaged[used - 1] ^= 1;  // the last record byte
  CHECK(vnic_decode_block(damaged.data(), block_size, block_size, &back) == VNIC_BLOCK_BAD_CHECKSUM);
  // The same block cut after its first record: what lies past valid_bytes is never interpreted.
  auto shorter = ours;
  vnic_block_header one = mh;
  one.record_count = 1;
  one.valid_bytes = VNIC_BLOCK_HEADER_BYTES + VNIC_RECORD_HEADER_BYTES + 100;
  vnic_encode_block_header(&one, shorter.data());
  vnic_finish_block(shorter.data());
  shorter[one.valid_bytes] ^= 1;
  CHECK(vnic_decode_block(shorter.data(), block_size, block_size, &back) == VNIC_BLOCK_OK);
  shorter[one.valid_bytes - 1] ^= 1;
  CHECK(vnic_decode_block(shorter.data(), block_size, block_size, &back) == VNIC_BLOCK_BAD_CHECKSUM);
  auto torn = ours;
  torn[0x28 + 3] = 0x7F;  // valid_bytes far past the block
  CHECK(vnic_decode_block(torn.data(), block_size, block_size, &back) == VNIC_BLOCK_BAD_LENGTH);
  std::vector<u8> zeros(block_size);
  CHECK(vnic_decode_block(zeros.data(), block_size, block_size, &back) == VNIC_BLOCK_EMPTY);
  auto flags = ours;
  flags[0x06] = 0x04;  // an unknown flag bit
  CHECK(vnic_decode_block(flags.data(), block_size, block_size, &back) == VNIC_BLOCK_UNKNOWN_FLAGS);
}

TEST_CASE("kmod: a shared LUN's version 2 block is blockxport's, destinations and header CRC included", "[kmod]") {
  namespace bh = blockxport::offsets::bh;
  const uint32_t block_size = 8192;
  // Two frames for slots 3 and 5, the second split into the next block: the mask is the union.
  std::vector<std::vector<std::byte>> frames = {std::vector<std::byte>(300, std::byte{0x11}),
                                                std::vector<std::byte>(9000, std::byte{0x22})};
  const uint64_t masks[] = {1ull << 3, 1ull << 5};
  std::vector<std::byte> theirs(block_size);
  BlockBuilder builder;
  builder.start(theirs, nullptr, kBlockVersion2);
  size_t split_at = 0;
  for (size_t i = 0; i < frames.size(); ++i) split_at = builder.append(frames[i], 0, masks[i]);
  BlockHeader h;
  h.slot = 2;
  h.epoch = 0x1234;
  h.sequence = 7;
  h.writer_timestamp_ns = 9'000'000'000ull;
  h.volume_tag = 0x1122334455667788ull;
  builder.seal(h, 0);

  vnic_block_header mh{};
  std::vector<u8> ours = module_block(block_size, 2, masks[0] | masks[1], frames, split_at, h, mh);
  const u32 used = mh.valid_bytes;
  CHECK(mh.record_count == 2);
  CHECK(std::memcmp(ours.data(), theirs.data(), block_size) == 0);

  auto decoded = decode_block(std::span<const std::byte>(reinterpret_cast<const std::byte*>(ours.data()), block_size), block_size);
  REQUIRE(decoded.check == BlockCheck::ok);
  CHECK(decoded.header.version == kBlockVersion2);
  CHECK(decoded.header.destinations == mh.destinations);

  vnic_block_header back{};
  auto* their_bytes = reinterpret_cast<const u8*>(theirs.data());
  REQUIRE(vnic_decode_block(their_bytes, block_size, block_size, &back) == VNIC_BLOCK_OK);
  CHECK(back.version == 2);
  CHECK(back.destinations == mh.destinations);
  CHECK(vnic_block_for_slot(&back, 3));
  CHECK(vnic_block_for_slot(&back, 5));
  CHECK_FALSE(vnic_block_for_slot(&back, 2));
  // The first write unit alone: the header is trusted (its own CRC held), the rest is asked for.
  REQUIRE(vnic_decode_block(their_bytes, 4096, block_size, &back) == VNIC_BLOCK_NEED_MORE);
  CHECK(back.destinations == mh.destinations);
  // A flipped destination bit fails the header CRC before any field is believed.
  auto torn = ours;
  torn[bh::destinations] ^= 0x01;
  CHECK(vnic_decode_block(torn.data(), 4096, block_size, &back) == VNIC_BLOCK_BAD_CHECKSUM);
  // A record byte flipped: the header still checks, the block does not.
  auto damaged = ours;
  damaged[used - 1] ^= 1;
  CHECK(vnic_decode_block(damaged.data(), 4096, block_size, &back) == VNIC_BLOCK_NEED_MORE);
  CHECK(vnic_decode_block(damaged.data(), block_size, block_size, &back) == VNIC_BLOCK_BAD_CHECKSUM);
  CHECK(vnic_block_header_bytes(2) == kBlockHeaderV2Bytes);
  CHECK(bh::header_crc + 4 == kBlockHeaderV2Bytes);
}
