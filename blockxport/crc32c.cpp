#include "blockxport/crc32c.h"

#include <array>
#include <cstring>

#include "blockxport/crc32c_shift.h"
#include "blockxport/crc32c_sse42.h"

namespace blockxport {
namespace {

using crc32c_detail::kPolyReflected;

using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ kPolyReflected : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFFu];
  }
  return t;
}

constexpr Tables kTables = make_tables();

uint32_t portable_update(uint32_t crc, const unsigned char* p, size_t n) {
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    if constexpr (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__) word = __builtin_bswap64(word);
    word ^= crc;
    crc = kTables[7][word & 0xFF] ^ kTables[6][(word >> 8) & 0xFF] ^ kTables[5][(word >> 16) & 0xFF] ^
          kTables[4][(word >> 24) & 0xFF] ^ kTables[3][(word >> 32) & 0xFF] ^ kTables[2][(word >> 40) & 0xFF] ^
          kTables[1][(word >> 48) & 0xFF] ^ kTables[0][word >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ kTables[0][(crc ^ *p++) & 0xFFu];
  return crc;
}

using UpdateFn = uint32_t (*)(uint32_t, const unsigned char*, size_t);

UpdateFn choose_update() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("sse4.2")) return crc32c_detail::sse42_update;
#endif
  return portable_update;
}

const UpdateFn kUpdate = choose_update();

}  // namespace

uint32_t crc32c(std::span<const std::byte> data, uint32_t crc) {
  return ~kUpdate(~crc, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

uint32_t crc32c_portable(std::span<const std::byte> data, uint32_t crc) {
  return ~portable_update(~crc, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

bool crc32c_hardware_available() { return kUpdate != portable_update; }

}  // namespace blockxport
