// Moving a CRC32C register past a run of zero bytes in constant time, so that CRCs of adjacent
// pieces computed independently (in parallel streams) can be joined:
//   register(A ++ B) == shift_by_zeros(register(A), |B|) ^ register_from_zero(B).
// Internal to the CRC implementation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace blockxport::crc32c_detail {

inline constexpr uint32_t kPolyReflected = 0x82F63B78u;

// A linear operator on the 32-bit register, as the images of its 32 basis vectors.
using Gf2Matrix = std::array<uint32_t, 32>;

constexpr uint32_t gf2_times(const Gf2Matrix& m, uint32_t v) {
  uint32_t sum = 0;
  for (size_t i = 0; v != 0; ++i, v >>= 1)
    if (v & 1u) sum ^= m[i];
  return sum;
}

constexpr Gf2Matrix gf2_square(const Gf2Matrix& m) {
  Gf2Matrix out{};
  for (size_t i = 0; i < 32; ++i) out[i] = gf2_times(m, m[i]);
  return out;
}

// The operator that feeds `bytes` zero bytes through the register (bytes must be a power of two).
constexpr Gf2Matrix zeros_operator(size_t bytes) {
  // One zero bit: shift right, folding the polynomial in when the low bit falls out.
  Gf2Matrix op{};
  op[0] = kPolyReflected;
  for (size_t i = 1; i < 32; ++i) op[i] = uint32_t{1} << (i - 1);
  for (size_t bits = 1; bits < bytes * 8; bits *= 2) op = gf2_square(op);
  return op;
}

// The operator split by register byte, so applying it costs four lookups.
using ShiftTable = std::array<std::array<uint32_t, 256>, 4>;

constexpr ShiftTable make_shift_table(size_t bytes) {
  Gf2Matrix op = zeros_operator(bytes);
  ShiftTable t{};
  for (size_t k = 0; k < 4; ++k)
    for (uint32_t b = 0; b < 256; ++b) t[k][b] = gf2_times(op, b << (8 * k));
  return t;
}

inline uint32_t shift_by_zeros(const ShiftTable& t, uint32_t crc) {
  return t[0][crc & 0xFFu] ^ t[1][(crc >> 8) & 0xFFu] ^ t[2][(crc >> 16) & 0xFFu] ^ t[3][crc >> 24];
}

}  // namespace blockxport::crc32c_detail
