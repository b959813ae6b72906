// The UNIX-socket chores the control server and its client share.
#pragma once

#include <sys/un.h>

#include <string>
#include <string_view>

namespace vnic_control {

// The address of the socket at `path`; throws std::runtime_error("PATH: ...") when the path does
// not fit in sun_path.
sockaddr_un unix_address(const std::string& path);

// Throws std::runtime_error("PATH: WHAT: strerror(errno)").
[[noreturn]] void throw_socket_error(const std::string& path, const char* what);

// Sends all of `text`, waiting up to a second at a time for room: a peer that does not read
// loses the rest rather than stalling the daemon's loop.
void send_all(int fd, std::string_view text);

}  // namespace vnic_control
