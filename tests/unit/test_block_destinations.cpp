// Version 2 blocks (a shared LUN's): the destination mask and the header's own CRC, byte by byte
// against the offsets table, and what a reader that passes a block over may and may not lose.
#include <catch2/catch.hpp>

#include "auth_rig.h"
#include "blockxport/crc32c.h"
#include "blockxport/format_offsets.h"
#include "blockxport/le.h"
#include "codec_rig.h"

using namespace blockxport;
using namespace vnic_test;
namespace bh = blockxport::offsets::bh;

namespace {

constexpr uint64_t kTo3 = uint64_t{1} << 3, kTo5 = uint64_t{1} << 5;

uint32_t expected_header_crc(const Bytes& b) {
  std::span<const std::byte> bytes(b);
  return crc32c(bytes.subspan(bh::destinations, bh::header_crc - bh::destinations), crc32c(bytes.first(bh::crc)));
}

}  // namespace

TEST_CASE("a version 2 header carries the union of its frames' destinations and its own CRC", "[codec][shared]") {
  auto blocks = pack({make_frame(100, 1), make_frame(200, 2)}, 4096, 7, kBlockVersion2, {kTo3, kTo5});
  REQUIRE(blocks.size() == 1);
  const Bytes& b = blocks[0].bytes;
  CHECK(le::u16(b.data() + bh::version) == kBlockVersion2);
  CHECK(le::u64(b.data() + bh::destinations) == (kTo3 | kTo5));
  CHECK(le::u32(b.data() + bh::header_crc) == expected_header_crc(b));
  CHECK(le::u32(b.data() + bh::reserved2) == 0);
  CHECK(le::u32(b.data() + bh::valid_bytes) == kBlockHeaderV2Bytes + 2 * kRecordHeaderBytes + 300);
  auto first = decode_record_header(b.data() + kBlockHeaderV2Bytes);
  CHECK(first.length == 100);
  CHECK(first.flags == (kRecordFirst | kRecordLast));
  auto d = decode_block(b, 4096);
  REQUIRE(d.check == BlockCheck::ok);
  CHECK(d.header_checked);
  CHECK(d.header.for_slot(3));
  CHECK(d.header.for_slot(5));
  CHECK_FALSE(d.header.for_slot(4));
  auto back = unpack(blocks, 4096);
  REQUIRE(back.frames.size() == 2);
  CHECK(back.frames[1] == make_frame(200, 2));
  // Version 1 (a pair) is what it was: records right after 64 bytes, for everyone.
  auto v1 = pack({make_frame(100, 1)}, 4096, 7, kBlockVersion1, {kTo3});
  CHECK(le::u16(v1[0].bytes.data() + bh::version) == kBlockVersion1);
  CHECK(decode_record_header(v1[0].bytes.data() + kBlockHeaderBytes).length == 100);
  CHECK(decode_block(v1[0].bytes, 4096).header.for_slot(4));
  CHECK_FALSE(decode_block(v1[0].bytes, 4096).header_checked);
}

TEST_CASE("a version 2 header is trusted from its first logical block only if its own CRC holds", "[codec][shared]") {
  auto blocks = pack({make_frame(30000, 9)}, 65536, 1, kBlockVersion2, {kTo3});
  const Bytes& good = blocks.at(0).bytes;
  auto head = decode_block(std::span(good).first(4096), 65536);
  REQUIRE(head.check == BlockCheck::need_more);
  REQUIRE(head.header_checked);
  CHECK(head.header.destinations == kTo3);
  for (size_t bit = 0; bit < kBlockHeaderV2Bytes * 8; ++bit) {
    size_t byte = bit / 8;
    if (byte >= bh::crc && byte < bh::crc + 4) continue;  // the block's CRC: not the header's to check
    Bytes flipped = good;
    flipped[byte] ^= std::byte(1u << (bit % 8));
    auto d = decode_block(std::span(flipped).first(4096), 65536);
    INFO("bit " << bit << " -> " << block_check_name(d.check));
    REQUIRE_FALSE(d.header_checked);
    REQUIRE(d.check != BlockCheck::ok);
  }
}

TEST_CASE("every single-bit flip of a version 2 block is rejected", "[codec][shared]") {
  auto blocks = pack({make_frame(300, 1), make_frame(57, 2)}, 4096, 1, kBlockVersion2, {kTo3, kTo5});
  const auto& good = blocks.at(0);
  for (size_t bit = 0; bit < size_t{good.header.valid_bytes} * 8; ++bit) {
    Bytes flipped = good.bytes;
    flipped[bit / 8] ^= std::byte(1u << (bit % 8));
    INFO("bit " << bit);
    REQUIRE(decode_block(flipped, 4096).check != BlockCheck::ok);
  }
}

TEST_CASE("an authenticated version 2 block binds its destinations", "[auth][shared]") {
  bool encrypt = GENERATE(false, true);
  DYNAMIC_SECTION("encrypt " << encrypt) {
    auto keys = keyring(1, encrypt);
    Bytes block(4096);
    BlockBuilder builder;
    builder.start(block, keys.get(), kBlockVersion2);
    Bytes frame = make_frame(500, 4);
    REQUIRE(builder.append(frame, 0, kTo3) == frame.size());
    BlockHeader h;
    h.epoch = 9;
    h.sequence = 1;
    builder.seal(h, 0, kVolumeA);
    auto d = decode_block(block, 4096);
    REQUIRE(d.check == BlockCheck::ok);
    Bytes opened = block;  // opening decrypts in place
    REQUIRE(authenticate_block(keys.get(), opened, d.header, kVolumeA) == AuthResult::accepted);
    // Sent to slot 5 instead, with both CRCs made right again: only the tag can tell.
    Bytes moved = block;
    le::store<uint64_t>(moved.data() + bh::destinations, kTo5);
    le::store<uint32_t>(moved.data() + bh::header_crc, expected_header_crc(moved));
    fix_block_crc(moved);
    auto m = decode_block(moved, 4096);
    REQUIRE(m.check == BlockCheck::ok);
    CHECK(m.header.destinations == kTo5);
    CHECK(authenticate_block(keys.get(), moved, m.header, kVolumeA) == AuthResult::bad_tag);
  }
}

TEST_CASE("a frame split across blocks is for its destinations in every block; passing one over loses nothing of ours",
          "[codec][shared]") {
  // A 6000-byte frame for slot 3 spans two 4 KiB blocks; a frame for slot 5 follows it in the second.
  auto blocks = pack({make_frame(6000, 1), make_frame(100, 2)}, 4096, 1, kBlockVersion2, {kTo3, kTo5});
  REQUIRE(blocks.size() == 2);
  CHECK(blocks[0].header.destinations == kTo3);
  CHECK(blocks[1].header.destinations == (kTo3 | kTo5));
  // Slot 5 passes the first block over and takes the second: its frame whole, the tail of slot
  // 3's passed over without counting a loss.
  FrameAssembler assembler;
  std::vector<FrameSpan> frames;
  CHECK(assembler.pass_over_block() == 0);
  auto r = assembler.take(blocks[1].bytes, blocks[1].header, true, frames);
  CHECK(r.well_formed);
  CHECK(r.dropped_partials == 0);
  REQUIRE(frames.size() == 1);
  CHECK(Bytes(frames[0].begin(), frames[0].end()) == make_frame(100, 2));
  // Without the pass-over (a block really lost), the same tail is a counted loss.
  FrameAssembler lost;
  frames.clear();
  CHECK(lost.take(blocks[1].bytes, blocks[1].header, false, frames).dropped_partials == 1);
}
