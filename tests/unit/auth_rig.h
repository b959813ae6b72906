// Keys, sealed blocks and an attacker's tools for the authentication tests: an attacker who can
// write the volume but has no key can change any byte and recompute the CRC, so every test of
// the MAC first fixes the CRC, leaving the tag as the only thing that can tell.
#pragma once

#include <vector>

#include <catch2/catch.hpp>

#include "blockxport/block_auth.h"
#include "blockxport/block_codec.h"
#include "blockxport/crc32c.h"
#include "blockxport/format.h"
#include "blockxport/le.h"
#include "codec_rig.h"

namespace vnic_test {

inline const blockxport::Uuid kVolumeA = {std::byte{0xA1}, std::byte{0xA2}, std::byte{0xA3}, std::byte{0xA4},
                                          std::byte{5},    std::byte{6},    std::byte{7},    std::byte{8},
                                          std::byte{9},    std::byte{10},   std::byte{11},   std::byte{12},
                                          std::byte{13},   std::byte{14},   std::byte{15},   std::byte{16}};
inline const blockxport::Uuid kVolumeB = {std::byte{0xB1}, std::byte{0xB2}, std::byte{0xB3}, std::byte{0xB4},
                                          std::byte{5},    std::byte{6},    std::byte{7},    std::byte{8},
                                          std::byte{9},    std::byte{10},   std::byte{11},   std::byte{12},
                                          std::byte{13},   std::byte{14},   std::byte{15},   std::byte{16}};

// A fixed key per seed, so failures reproduce.
inline blockxport::SecretKey test_key(unsigned char seed) {
  blockxport::SecretKey key;
  for (size_t i = 0; i < key.bytes.size(); ++i) key.bytes[i] = static_cast<unsigned char>(seed * 31 + i);
  return key;
}

inline std::unique_ptr<blockxport::Keyring> keyring(unsigned char seed, bool encrypt = false,
                                                    std::optional<unsigned char> accept = std::nullopt) {
  auto extra = accept ? std::optional<blockxport::SecretKey>(test_key(*accept)) : std::nullopt;
  return std::make_unique<blockxport::Keyring>(test_key(seed), extra ? &*extra : nullptr, encrypt);
}

struct BlockPlace {
  uint32_t slot = 0;
  uint64_t epoch = 0x1122334455667788ull;
  uint64_t sequence = 5;
  blockxport::Uuid volume = kVolumeA;
};

// Frames packed into one block (they must fit) and sealed as a writer with `keys` would.
inline Bytes sealed_block(const blockxport::Keyring* keys, const std::vector<Bytes>& frames, BlockPlace place = {},
                          uint32_t block_size = 4096) {
  using namespace blockxport;
  Bytes block(block_size);
  BlockBuilder builder;
  builder.start(block, keys);
  for (const auto& f : frames) REQUIRE(builder.append(f, 0) == f.size());
  BlockHeader h;
  h.slot = place.slot;
  h.epoch = place.epoch;
  h.sequence = place.sequence;
  h.writer_timestamp_ns = 123456789;
  h.volume_tag = le::u64(place.volume.data());
  builder.seal(h, 0, place.volume);
  return block;
}

// What a reader makes of a block: decode, authenticate (and decrypt), unpack.
struct Opened {
  blockxport::BlockCheck check = blockxport::BlockCheck::empty;
  blockxport::AuthResult auth = blockxport::AuthResult::accepted;
  std::vector<Bytes> frames;
  bool delivered() const { return check == blockxport::BlockCheck::ok && auth == blockxport::AuthResult::accepted; }
};

inline Opened open_block(const blockxport::Keyring* keys, Bytes block, const blockxport::Uuid& volume = kVolumeA) {
  using namespace blockxport;
  Opened out;
  auto d = decode_block(block, static_cast<uint32_t>(block.size()));
  out.check = d.check;
  if (d.check != BlockCheck::ok) return out;
  out.auth = authenticate_block(keys, block, d.header, volume);
  if (out.auth != AuthResult::accepted) return out;
  FrameAssembler assembler;
  std::vector<FrameSpan> frames;
  auto taken = assembler.take(std::span<const std::byte>(block).first(d.header.valid_bytes), d.header, true, frames);
  REQUIRE(taken.well_formed);
  for (auto f : frames) out.frames.emplace_back(f.begin(), f.end());
  return out;
}

// The attacker's last step: a CRC that matches whatever they wrote (when valid_bytes is sane).
inline void fix_block_crc(Bytes& block) {
  uint32_t valid = blockxport::le::u32(block.data() + 0x28);
  if (valid >= blockxport::kBlockHeaderBytes && valid <= block.size()) blockxport::finish_block(block);
}

// The same for a state record, at whichever place its flags put the CRC.
inline void fix_state_crc(std::vector<std::byte>& record) {
  bool authenticated = (blockxport::le::u32(record.data() + 0x2C) & 1) != 0;
  size_t crc_at = authenticated ? 0x278 : 0x250;
  blockxport::le::store<uint32_t>(record.data() + crc_at,
                                  blockxport::crc32c(std::span<const std::byte>(record).first(crc_at)));
}

inline bool contains(const Bytes& haystack, const Bytes& needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

}  // namespace vnic_test
