#include "tools/vnic-bench/rr_responder.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "tools/vnic-bench/rr_protocol.h"
#include "tools/vnic-bench/stop_signal.h"

namespace vnic_bench {

uint64_t serve_rr(int fd, const std::function<void()>& every_tick) {
  uint64_t answered = 0;
  std::byte buffer[2048];
  auto next_tick = std::chrono::steady_clock::now();
  while (!stop_requested()) {
    if (std::chrono::steady_clock::now() >= next_tick) {
      every_tick();
      next_tick = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    }
    // A bounded wait so a stop request is seen even when no request comes.
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    sockaddr_storage from{};
    socklen_t from_length = sizeof(from);
    ssize_t n = ::recvfrom(fd, buffer, sizeof(buffer), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &from_length);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      throw std::runtime_error(fmt::format("request/response socket: {}", std::strerror(errno)));
    }
    if (!rr_sequence_of({buffer, static_cast<size_t>(n)})) continue;
    // A reply that cannot go out (no route for a moment) is the client's timeout to count.
    if (::sendto(fd, buffer, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), from_length) == n)
      ++answered;
  }
  return answered;
}

}  // namespace vnic_bench
