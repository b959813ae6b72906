// libFuzzer target: arbitrary bytes as a superblock (raw, and with the CRC recomputed so the
// field checks behind it are reached) and, raw, as a state record (fuzz_state goes deeper there).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "blockxport/format.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace blockxport;
using vnic_fuzz::require;

// Found by this target: decode_superblock used to bound ring_blocks by 2^40 alone, so 64 slots of
// 1 MiB blocks described a layout larger than 2^64 bytes whose offsets wrapped. It now refuses
// them; a superblock that decodes with such a layout is a regression.
constexpr bool kSkipKnownLayoutOverflow = false;

// The volume bytes the layout needs, computed without wrapping; false when that passes 2^64.
bool layout_fits(const Superblock& s) {
  uint64_t ring_bytes = 0, all_rings = 0, end = 0;
  return !__builtin_mul_overflow(s.ring_blocks, uint64_t{s.block_size}, &ring_bytes) &&
         !__builtin_mul_overflow(ring_bytes, uint64_t{s.slot_count}, &all_rings) &&
         !__builtin_add_overflow(all_rings, s.rings_offset(), &end);
}

void check_superblock(std::span<const std::byte> bytes) {
  auto sb = decode_superblock(bytes);
  if (sb.error != DecodeError::none) {
    require(!sb.message.empty());
    return;
  }
  // A superblock that decodes must describe a layout whose arithmetic stays in range.
  const Superblock& s = sb.superblock;
  if (!layout_fits(s)) {
    if (kSkipKnownLayoutOverflow) return;
    vnic_fuzz::fail();
  }
  require(s.rings_offset() >= kStateTableOffset + s.state_table_bytes());
  require(s.block_offset(s.slot_count - 1, ~uint64_t{0}) < s.required_volume_bytes());
  require(s.label.size() < kLabelBytes);
  // And survive a round trip unchanged.
  std::array<std::byte, kSuperblockBytes> encoded{};
  encode_superblock(s, encoded);
  auto again = decode_superblock(encoded);
  require(again.error == DecodeError::none);
  const Superblock& t = again.superblock;
  require(t.format_version == s.format_version && t.uuid == s.uuid && t.block_size == s.block_size &&
          t.slot_count == s.slot_count && t.ring_blocks == s.ring_blocks && t.created_unix_ns == s.created_unix_ns &&
          t.label == s.label);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto bytes = std::span(reinterpret_cast<const std::byte*>(data), size);
  check_superblock(bytes);
  std::array<std::byte, kSuperblockBytes> fixed{};
  std::copy_n(bytes.begin(), std::min(size, kSuperblockBytes), fixed.begin());
  vnic_fuzz::reseal_crc_last(fixed);
  check_superblock(fixed);
  auto st = decode_state_record(bytes);
  if (st.error == DecodeError::none) require(st.record.slot < kMaxSlots);
  return 0;
}
