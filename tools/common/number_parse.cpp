#include "tools/common/number_parse.h"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "tools/common/cli_main.h"
#include "tools/common/size_parse.h"

namespace vnic_tools {

uint64_t parse_count(std::string_view option, std::string_view text, uint64_t min, uint64_t max) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, value, 10);
  if (text.empty() || stop != end || error == std::errc::invalid_argument)
    throw UsageError(fmt::format("{} {}: not a whole number", option, text));
  if (error == std::errc::result_out_of_range || value < min || value > max)
    throw UsageError(fmt::format("{} {}: must be between {} and {}", option, text, min, max));
  return value;
}

std::chrono::nanoseconds parse_seconds(std::string_view option, std::string_view text, double max_seconds) {
  // strtod accepts "inf", "nan" and hex floats; the checks below turn those away.
  std::string copy(text);
  char* stop = nullptr;
  double seconds = copy.empty() ? 0.0 : std::strtod(copy.c_str(), &stop);
  if (copy.empty() || stop != copy.c_str() + copy.size() || !std::isfinite(seconds))
    throw UsageError(fmt::format("{} {}: not a number of seconds", option, text));
  if (seconds <= 0.0 || seconds > max_seconds)
    throw UsageError(fmt::format("{} {}: must be more than 0 and at most {} seconds", option, text, max_seconds));
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(seconds * 1e9)));
}

uint64_t parse_size_option(std::string_view option, std::string_view text, uint64_t min, uint64_t max) {
  uint64_t value = 0;
  try {
    value = parse_size(text);
  } catch (const std::invalid_argument& error) {
    throw UsageError(fmt::format("{} {}", option, error.what()));
  }
  if (value < min || value > max) {
    throw UsageError(fmt::format("{} {}: must be between {} and {}", option, text, format_size(min), format_size(max)));
  }
  return value;
}

}  // namespace vnic_tools
