// Little-endian fixed-width field access for on-disk structures. Every encoder and decoder goes
// through these, never through a cast of a packed struct onto a buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace blockxport::le {

template <typename T>
inline T load(const std::byte* p) {
  static_assert(sizeof(T) <= 8);
  T value{};
  std::memcpy(&value, p, sizeof(T));
  if constexpr (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__) {
    if constexpr (sizeof(T) == 2) value = static_cast<T>(__builtin_bswap16(static_cast<uint16_t>(value)));
    if constexpr (sizeof(T) == 4) value = static_cast<T>(__builtin_bswap32(static_cast<uint32_t>(value)));
    if constexpr (sizeof(T) == 8) value = static_cast<T>(__builtin_bswap64(static_cast<uint64_t>(value)));
  }
  return value;
}

template <typename T>
inline void store(std::byte* p, T value) {
  static_assert(sizeof(T) <= 8);
  if constexpr (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__) {
    if constexpr (sizeof(T) == 2) value = static_cast<T>(__builtin_bswap16(static_cast<uint16_t>(value)));
    if constexpr (sizeof(T) == 4) value = static_cast<T>(__builtin_bswap32(static_cast<uint32_t>(value)));
    if constexpr (sizeof(T) == 8) value = static_cast<T>(__builtin_bswap64(static_cast<uint64_t>(value)));
  }
  std::memcpy(p, &value, sizeof(T));
}

inline uint16_t u16(const std::byte* p) { return load<uint16_t>(p); }
inline uint32_t u32(const std::byte* p) { return load<uint32_t>(p); }
inline uint64_t u64(const std::byte* p) { return load<uint64_t>(p); }

}  // namespace blockxport::le
