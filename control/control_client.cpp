#include "control/control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include <fmt/format.h>

#include "control/unix_socket.h"

namespace vnic_control {

nlohmann::json control_request(const std::string& path, const nlohmann::json& request, int timeout_ms) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_socket_error(path, "socket");
  sockaddr_un addr = unix_address(path);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int error = errno;
    ::close(fd);
    errno = error;
    throw_socket_error(path, "cannot connect to the daemon's control socket");
  }
  send_all(fd, request.dump() + "\n");
  std::string reply;
  char buffer[4096];
  while (reply.find('\n') == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) {
      ::close(fd);
      throw std::runtime_error(fmt::format("{}: no answer from the daemon within {} ms", path, timeout_ms));
    }
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    reply.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  auto newline = reply.find('\n');
  if (newline == std::string::npos)
    throw std::runtime_error(fmt::format("{}: the daemon closed without answering", path));
  return nlohmann::json::parse(reply.substr(0, newline));
}

}  // namespace vnic_control
