// The hardware CRC32C kernel (x86-64 SSE4.2), internal to crc32c.cpp. Works on the raw register
// (no pre- or post-inversion); callers must check the CPU has SSE4.2 first.
#pragma once

#include <cstddef>
#include <cstdint>

namespace blockxport::crc32c_detail {

#if defined(__x86_64__)
uint32_t sse42_update(uint32_t crc, const unsigned char* p, size_t n);
#endif

}  // namespace blockxport::crc32c_detail
