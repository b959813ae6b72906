// Sizes as people type them on a command line ("65536", "64K", "1M", "256MiB") and as the tools
// print them back.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vnic_tools {

// Plain bytes, or a whole number with a K, M, G or T suffix, optionally followed by "B" or "iB".
// Every suffix is a power of 1024: block and volume sizes are binary, and "64KB" next to a block
// size nearly always means 65536. The suffix's case is ignored. Throws std::invalid_argument
// saying what is wrong with `text` (not a size, or more than 64 bits).
uint64_t parse_size(std::string_view text);

// The largest binary unit that keeps the number at least 1: 65536 -> "64 KiB",
// 268369920 -> "255.9 MiB", 512 -> "512 B". Exact multiples print without a fraction.
std::string format_size(uint64_t bytes);

}  // namespace vnic_tools
