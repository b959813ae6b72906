// Packs frames into sealed blocks and unpacks them again, in memory, for codec tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "blockxport/block_codec.h"
#include "blockxport/format.h"

namespace vnic_test {

using Bytes = std::vector<std::byte>;

inline Bytes make_frame(size_t size, uint64_t seed) {
  Bytes frame(size);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    frame[i] = std::byte(x & 0xFF);
  }
  return frame;
}

struct PackedBlock {
  Bytes bytes;
  blockxport::BlockHeader header;
};

// Seals a block whenever it is full, and the last one at the end. `version` 2 blocks carry each
// frame's `destinations[i]` (every slot where not given).
inline std::vector<PackedBlock> pack(const std::vector<Bytes>& frames, uint32_t block_size,
                                     uint64_t first_sequence = 1, uint16_t version = blockxport::kBlockVersion1,
                                     const std::vector<uint64_t>& destinations = {}) {
  using namespace blockxport;
  std::vector<PackedBlock> blocks;
  BlockBuilder builder;
  uint64_t sequence = first_sequence;
  auto open = [&] {
    blocks.push_back({Bytes(block_size), {}});
    builder.start(blocks.back().bytes, nullptr, version);
  };
  auto seal = [&] {
    BlockHeader h;
    h.slot = 0;
    h.epoch = 42;
    h.sequence = sequence++;
    h.volume_tag = 0xABCDEF;
    builder.seal(h, 0);
    blocks.back().header = decode_block(blocks.back().bytes, block_size).header;
  };
  open();
  for (size_t i = 0; i < frames.size(); ++i) {
    const Bytes& f = frames[i];
    uint64_t to = i < destinations.size() ? destinations[i] : kAllDestinations;
    size_t offset = 0;
    while (offset < f.size()) {
      size_t took = builder.append(f, offset, to);
      offset += took;
      if (offset < f.size() || builder.full()) {
        seal();
        open();
      }
    }
  }
  if (!builder.empty())
    seal();
  else
    blocks.pop_back();
  return blocks;
}

struct Unpacked {
  std::vector<Bytes> frames;
  uint32_t malformed = 0;
  uint32_t dropped_partials = 0;
  uint32_t rejected = 0;
};

inline Unpacked unpack(const std::vector<PackedBlock>& blocks, uint32_t block_size) {
  using namespace blockxport;
  Unpacked out;
  FrameAssembler assembler;
  std::vector<FrameSpan> frames;
  for (const auto& b : blocks) {
    auto d = decode_block(b.bytes, block_size);
    if (d.check != BlockCheck::ok) {
      ++out.rejected;
      continue;
    }
    frames.clear();
    auto r = assembler.take(b.bytes, d.header, true, frames);
    out.dropped_partials += r.dropped_partials;
    if (!r.well_formed) ++out.malformed;
    for (auto f : frames) out.frames.emplace_back(f.begin(), f.end());
  }
  return out;
}

}  // namespace vnic_test
