// UDP addresses and sockets for the request/response test: a host name or address (IPv4 or
// IPv6) and a port, resolved once, with errors that name what was asked for.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace vnic_bench {

struct Endpoint {
  sockaddr_storage address{};
  socklen_t length = 0;
  std::string text;  // "10.77.0.2:7700" or "[fd00::2]:7700", for messages
};

// Resolves HOST:PORT for UDP; `passive` allows an empty host (any address, to bind). Throws
// std::runtime_error("HOST: cannot resolve: reason").
Endpoint resolve_udp(const std::string& host, uint16_t port, bool passive = false);

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  int release();

 private:
  int fd_ = -1;
};

// A UDP socket bound to `local`; throws std::runtime_error("bind ADDR/udp: reason").
Fd bind_udp(const Endpoint& local);
// A UDP socket connected to `remote` (so ICMP errors come back as ECONNREFUSED).
Fd connect_udp(const Endpoint& remote);

}  // namespace vnic_bench
