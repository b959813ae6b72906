// Completion tags: one engine serves the writer, the reader and the state records of a link, and
// the top byte of a tag says whose a completion is.
#pragma once

#include <cstdint>

namespace blockxport {

enum class IoOwner : uint8_t { writer = 1, reader = 2, state = 3 };

// `unit`: which of several owners of a kind (a reader per peer slot); 0 for the others.
inline constexpr uint64_t make_tag(IoOwner owner, uint32_t index, uint32_t unit = 0) {
  return (uint64_t{static_cast<uint8_t>(owner)} << 56) | (uint64_t{unit & 0xFFFFu} << 32) | index;
}
inline constexpr IoOwner tag_owner(uint64_t tag) { return static_cast<IoOwner>(tag >> 56); }
inline constexpr uint32_t tag_unit(uint64_t tag) { return static_cast<uint32_t>((tag >> 32) & 0xFFFFu); }
inline constexpr uint32_t tag_index(uint64_t tag) { return static_cast<uint32_t>(tag & 0xFFFFFFFFu); }

}  // namespace blockxport
