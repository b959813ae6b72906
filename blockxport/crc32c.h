// CRC32C (Castagnoli), the checksum of every on-disk structure. Uses the SSE4.2 crc32
// instruction when the CPU has it (three interleaved streams, so every block is checksummed at
// several times the speed of one dependent chain), a slicing-by-8 table otherwise; both give
// identical results.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace blockxport {

// Continues a running CRC: crc32c(b, crc32c(a)) == crc32c(a ++ b). Start from 0.
uint32_t crc32c(std::span<const std::byte> data, uint32_t crc = 0);

// The portable path alone, so tests can compare it with the hardware path on the same input.
uint32_t crc32c_portable(std::span<const std::byte> data, uint32_t crc = 0);
bool crc32c_hardware_available();

}  // namespace blockxport
