#include "vnic/error.h"

#include <fmt/format.h>

#include <cstring>

namespace vnic {

Error::Error(std::string_view ifname, std::string_view action, std::string_view reason)
    : std::runtime_error(fmt::format("{}: {}: {}", ifname, action, reason)), ifname_(ifname) {}

Error::Error(std::string_view ifname, std::string_view message)
    : std::runtime_error(fmt::format("{}: {}", ifname, message)), ifname_(ifname) {}

void throw_errno(std::string_view ifname, std::string_view action, int errnum) {
  throw Error(ifname, action, std::strerror(errnum));
}

}  // namespace vnic
