// Helpers shared by the libFuzzer targets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "blockxport/crc32c.h"

namespace vnic_fuzz {

// A mutated structure almost never keeps its CRC32C, so a target that only decoded raw bytes
// would stop at the checksum and never reach the field checks behind it. Targets therefore also
// decode a copy whose CRC (little-endian, the last 4 bytes of the structure, over every byte
// before it: docs/FORMAT.md) has been recomputed.
inline void reseal_crc_last(std::span<std::byte> structure) {
  size_t at = structure.size() - 4;
  uint32_t crc = blockxport::crc32c(structure.first(at));
  for (size_t i = 0; i < 4; ++i) structure[at + i] = std::byte(crc >> (8 * i));
}

// A failed property: abort so libFuzzer saves the input (a plain assert vanishes under NDEBUG).
[[noreturn]] inline void fail() { __builtin_trap(); }
inline void require(bool condition) {
  if (!condition) fail();
}

}  // namespace vnic_fuzz
