// Whole numbers and durations from the command line. CLI11's own conversion takes "-1" for an
// unsigned 64-bit option and reads "010" as octal; these accept decimal only and say which option
// is wrong, so every tool reports bad numbers the same way.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace vnic_tools {

// A decimal number between `min` and `max`; throws UsageError("OPTION VALUE: why").
uint64_t parse_count(std::string_view option, std::string_view text, uint64_t min, uint64_t max);

// Seconds, fractions allowed ("10", "0.5"), strictly positive and at most `max_seconds`.
std::chrono::nanoseconds parse_seconds(std::string_view option, std::string_view text, double max_seconds);

// A size (see parse_size) between `min` and `max`, same error style.
uint64_t parse_size_option(std::string_view option, std::string_view text, uint64_t min, uint64_t max);

}  // namespace vnic_tools
