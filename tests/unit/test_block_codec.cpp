#include <catch2/catch.hpp>

#include <set>

#include "blockxport/block_codec.h"
#include "blockxport/le.h"
#include "codec_rig.h"

using namespace blockxport;
using namespace vnic_test;

namespace {

// Every size from 1 to 4200 (all the 4 KiB block boundaries), every size within 80 bytes of the
// 64 KiB boundaries, and a stride through the rest up to 65 550.
std::vector<size_t> frame_sizes_under_test() {
  std::set<size_t> sizes;
  for (size_t s = 1; s <= 4200; ++s) sizes.insert(s);
  for (size_t s = 4200; s <= 65550; s += 61) sizes.insert(s);
  for (size_t s = 65536 - 80; s <= 65550; ++s) sizes.insert(s);
  for (size_t s = 2 * 4024 - 4; s <= 2 * 4024 + 20; ++s) sizes.insert(s);
  return {sizes.begin(), sizes.end()};
}

}  // namespace

TEST_CASE("each frame size from 1 to 65550 round-trips alone", "[codec]") {
  auto block_size = GENERATE(4096u, 65536u);
  for (size_t size : frame_sizes_under_test()) {
    std::vector<Bytes> frames{make_frame(size, size)};
    auto blocks = pack(frames, block_size);
    auto back = unpack(blocks, block_size);
    INFO("block size " << block_size << ", frame size " << size);
    REQUIRE(back.frames.size() == 1);
    REQUIRE(back.frames[0] == frames[0]);
    REQUIRE(back.malformed == 0);
    REQUIRE(back.rejected == 0);
  }
}

TEST_CASE("a stream of mixed sizes round-trips with fragments across blocks", "[codec]") {
  auto block_size = GENERATE(4096u, 65536u);
  std::vector<Bytes> frames;
  uint64_t x = 12345;
  for (int i = 0; i < 3000; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    size_t size = i % 50 == 0 ? 65550 : 1 + (x >> 33) % 9000;
    frames.push_back(make_frame(size, static_cast<uint64_t>(i)));
  }
  auto blocks = pack(frames, block_size);
  size_t spanning = 0;
  for (const auto& b : blocks) {
    auto first = decode_record_header(b.bytes.data() + kBlockHeaderBytes);
    if (!(first.flags & kRecordFirst)) ++spanning;
  }
  CHECK(spanning > 0);  // the test must exercise continuation records
  auto back = unpack(blocks, block_size);
  REQUIRE(back.frames.size() == frames.size());
  for (size_t i = 0; i < frames.size(); ++i) REQUIRE(back.frames[i] == frames[i]);
  // Blocks are full when traffic is heavy: all but the last are packed to the brim.
  for (size_t i = 0; i + 1 < blocks.size(); ++i)
    REQUIRE(blocks[i].header.valid_bytes + kRecordHeaderBytes >= block_size);
}

TEST_CASE("exactly full blocks", "[codec]") {
  const uint32_t block_size = 4096;
  const size_t capacity = block_size - kBlockHeaderBytes - kRecordHeaderBytes;
  SECTION("one frame fills the block to the last byte") {
    auto blocks = pack({make_frame(capacity, 1)}, block_size);
    REQUIRE(blocks.size() == 1);
    CHECK(blocks[0].header.valid_bytes == block_size);
    CHECK(unpack(blocks, block_size).frames.size() == 1);
  }
  SECTION("two frames fill it exactly") {
    size_t a = 1000, b = capacity - a - kRecordHeaderBytes;
    auto blocks = pack({make_frame(a, 1), make_frame(b, 2)}, block_size);
    REQUIRE(blocks.size() == 1);
    CHECK(blocks[0].header.valid_bytes == block_size);
    CHECK(blocks[0].header.record_count == 2);
  }
  SECTION("one byte more spills a one-byte fragment into the next block") {
    auto blocks = pack({make_frame(capacity + 1, 3)}, block_size);
    REQUIRE(blocks.size() == 2);
    CHECK(blocks[1].header.valid_bytes == kBlockHeaderBytes + kRecordHeaderBytes + 1);
    auto back = unpack(blocks, block_size);
    REQUIRE(back.frames.size() == 1);
    CHECK(back.frames[0] == make_frame(capacity + 1, 3));
  }
}

TEST_CASE("padding is zero and the header sits at its documented offsets", "[codec]") {
  auto blocks = pack({make_frame(100, 1)}, 4096, 77);
  const auto& b = blocks.at(0).bytes;
  CHECK(le::u32(b.data() + 0x00) == 0x4B424E56);
  CHECK(le::u64(b.data() + 0x18) == 77);
  CHECK(le::u32(b.data() + 0x28) == kBlockHeaderBytes + kRecordHeaderBytes + 100);
  CHECK(le::u32(b.data() + 0x0C) == 1);
  for (size_t i = kBlockHeaderBytes + kRecordHeaderBytes + 100; i < b.size(); ++i) REQUIRE(b[i] == std::byte{0});
}

TEST_CASE("every single-bit flip of a block's header and records is rejected", "[codec]") {
  auto blocks = pack({make_frame(300, 1), make_frame(57, 2)}, 4096);
  const auto& good = blocks.at(0);
  REQUIRE(decode_block(good.bytes, 4096).check == BlockCheck::ok);
  for (size_t bit = 0; bit < size_t{good.header.valid_bytes} * 8; ++bit) {
    Bytes flipped = good.bytes;
    flipped[bit / 8] ^= std::byte(1u << (bit % 8));
    auto d = decode_block(flipped, 4096);
    INFO("bit " << bit << " -> " << block_check_name(d.check));
    REQUIRE(d.check != BlockCheck::ok);
  }
}

TEST_CASE("decode_block asks for the rest when only the first logical block was read", "[codec]") {
  auto blocks = pack({make_frame(10000, 9)}, 65536);
  const auto& b = blocks.at(0).bytes;
  auto first = decode_block(std::span(b).first(4096), 65536);
  CHECK(first.check == BlockCheck::need_more);
  CHECK(first.header.valid_bytes == kBlockHeaderBytes + kRecordHeaderBytes + 10000);
  CHECK(decode_block(std::span(b).first(12288), 65536).check == BlockCheck::ok);
  Bytes zeros(4096);
  CHECK(decode_block(zeros, 65536).check == BlockCheck::empty);
}

TEST_CASE("a torn block (new first sectors, old rest) fails its checksum", "[codec]") {
  auto old_blocks = pack({make_frame(60000, 1)}, 65536, 1);
  auto new_blocks = pack({make_frame(60000, 2)}, 65536, 1 + 16);
  for (size_t k = 1; k < 15; ++k) {
    Bytes torn = old_blocks[0].bytes;
    std::copy_n(new_blocks[0].bytes.begin(), k * 4096, torn.begin());
    INFO("first " << k << " logical blocks new");
    REQUIRE(decode_block(torn, 65536).check == BlockCheck::bad_checksum);
  }
}

TEST_CASE("records that contradict a valid checksum are refused whole", "[codec]") {
  auto blocks = pack({make_frame(100, 1), make_frame(100, 2)}, 4096);
  auto& b = blocks.at(0);
  auto reseal = [&](auto&& mutate) {
    Bytes copy = b.bytes;
    mutate(copy);
    BlockHeader h = b.header;
    seal_block(h, copy);
    auto d = decode_block(copy, 4096);
    REQUIRE(d.check == BlockCheck::ok);
    FrameAssembler assembler;
    std::vector<FrameSpan> frames;
    auto r = assembler.take(copy, d.header, true, frames);
    CHECK_FALSE(r.well_formed);
    CHECK(frames.empty());
  };
  // A record longer than the block's valid bytes.
  reseal([](Bytes& c) { le::store<uint32_t>(c.data() + kBlockHeaderBytes, 5000); });
  // A zero-length record.
  reseal([](Bytes& c) { le::store<uint32_t>(c.data() + kBlockHeaderBytes, 0); });
  // Unknown flag bits.
  reseal([](Bytes& c) { le::store<uint16_t>(c.data() + kBlockHeaderBytes + 4, 0x80 | 3); });
  // A continuation record that is not first in the block.
  reseal([](Bytes& c) { le::store<uint16_t>(c.data() + kBlockHeaderBytes + 8 + 100 + 4, kRecordLast); });
}

TEST_CASE("a frame whose middle block is lost is dropped and counted, never half-delivered", "[codec]") {
  const uint32_t block_size = 4096;
  auto big = make_frame(10000, 5);  // three blocks
  auto blocks = pack({make_frame(10, 1), big, make_frame(20, 2)}, block_size);
  REQUIRE(blocks.size() >= 3);
  FrameAssembler assembler;
  std::vector<FrameSpan> frames;
  std::vector<Bytes> got;
  uint32_t dropped = 0;
  bool continuous = true;
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (i == 1) {
      continuous = false;  // block 1 never arrived
      continue;
    }
    auto d = decode_block(blocks[i].bytes, block_size);
    REQUIRE(d.check == BlockCheck::ok);
    frames.clear();
    auto r = assembler.take(blocks[i].bytes, d.header, continuous, frames);
    dropped += r.dropped_partials;
    continuous = true;
    for (auto f : frames) got.emplace_back(f.begin(), f.end());
  }
  REQUIRE(got.size() == 2);
  CHECK(got[0] == make_frame(10, 1));
  CHECK(got[1] == make_frame(20, 2));
  CHECK(dropped >= 1);
}
