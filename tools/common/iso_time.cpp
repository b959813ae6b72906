#include "tools/common/iso_time.h"

#include <ctime>

#include <fmt/format.h>

namespace vnic_tools {

std::string iso8601_utc(uint64_t unix_ns) {
  auto seconds = static_cast<time_t>(unix_ns / 1'000'000'000);
  auto millis = static_cast<unsigned>(unix_ns / 1'000'000 % 1000);
  std::tm utc{};
  if (gmtime_r(&seconds, &utc) == nullptr) return fmt::format("@{} ns", unix_ns);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
}

}  // namespace vnic_tools
