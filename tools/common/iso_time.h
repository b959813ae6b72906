// Wall-clock timestamps as the tools print them.
#pragma once

#include <cstdint>
#include <string>

namespace vnic_tools {

// ISO-8601 in UTC with milliseconds: "2024-11-21T05:46:12.123Z".
std::string iso8601_utc(uint64_t unix_ns);

}  // namespace vnic_tools
