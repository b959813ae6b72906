// libFuzzer target: arbitrary bytes as a superblock and as a state record.
#include <cstddef>
#include <cstdint>

#include "blockxport/format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace blockxport;
  auto bytes = std::span(reinterpret_cast<const std::byte*>(data), size);
  auto sb = decode_superblock(bytes);
  if (sb.error == DecodeError::none) {
    // A superblock that decodes must describe a layout whose arithmetic stays in range.
    const Superblock& s = sb.superblock;
    if (s.rings_offset() < kStateTableOffset + s.state_table_bytes()) __builtin_trap();
    if (s.block_offset(s.slot_count - 1, ~uint64_t{0}) >= s.required_volume_bytes()) __builtin_trap();
  }
  auto st = decode_state_record(bytes);
  if (st.error == DecodeError::none && st.record.slot >= kMaxSlots) __builtin_trap();
  return 0;
}
