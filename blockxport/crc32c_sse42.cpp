// The SSE4.2 crc32 instruction has a latency of three cycles but can start one every cycle, so a
// single dependent chain uses a third of it. Three independent streams over adjacent thirds of
// the input keep it busy; their registers are joined with the zero-shift operator.
#include "blockxport/crc32c_sse42.h"

#if defined(__x86_64__)
#include <nmmintrin.h>

#include <cstring>

#include "blockxport/crc32c_shift.h"

namespace blockxport::crc32c_detail {
namespace {

// Long strides amortise the join; short ones keep mid-sized inputs (a 4 KiB state record, a
// block's tail) interleaved too.
constexpr size_t kLong = 8192;
constexpr size_t kShort = 256;

constexpr ShiftTable kShiftLong = make_shift_table(kLong);
constexpr ShiftTable kShiftShort = make_shift_table(kShort);

inline uint64_t load64(const unsigned char* p) {
  uint64_t word;
  std::memcpy(&word, p, 8);
  return word;
}

template <size_t Stride>
__attribute__((target("sse4.2"))) inline uint32_t three_streams(uint32_t crc, const unsigned char*& p, size_t& n,
                                                                const ShiftTable& shift) {
  while (n >= 3 * Stride) {
    uint64_t c0 = crc, c1 = 0, c2 = 0;
    const unsigned char* end = p + Stride;
    do {
      c0 = _mm_crc32_u64(c0, load64(p));
      c1 = _mm_crc32_u64(c1, load64(p + Stride));
      c2 = _mm_crc32_u64(c2, load64(p + 2 * Stride));
      p += 8;
    } while (p < end);
    crc = shift_by_zeros(shift, static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1);
    crc = shift_by_zeros(shift, crc) ^ static_cast<uint32_t>(c2);
    p += 2 * Stride;
    n -= 3 * Stride;
  }
  return crc;
}

}  // namespace

__attribute__((target("sse4.2"))) uint32_t sse42_update(uint32_t crc, const unsigned char* p, size_t n) {
  // Byte steps up to an 8-byte boundary keep the wide loads aligned.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7u) != 0) {
    crc = _mm_crc32_u8(crc, *p++);
    --n;
  }
  crc = three_streams<kLong>(crc, p, n, kShiftLong);
  crc = three_streams<kShort>(crc, p, n, kShiftShort);
  uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) c = _mm_crc32_u64(c, load64(p));
  crc = static_cast<uint32_t>(c);
  while (n-- > 0) crc = _mm_crc32_u8(crc, *p++);
  return crc;
}

}  // namespace blockxport::crc32c_detail

#endif
