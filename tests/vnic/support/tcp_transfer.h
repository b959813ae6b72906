#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace vnic::test {

struct TcpTransferResult {
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  bool content_intact = false;  // every received byte matched the sent pattern
  double seconds = 0;           // connect to last byte received
  std::string error;            // empty on success

  double gbit_per_second() const { return seconds > 0 ? static_cast<double>(bytes_received) * 8 / seconds / 1e9 : 0; }
};

// Streams a known byte pattern for `duration` from a client in `client_ns` to
// a server listening on server_ip:port in `server_ns`, and checks what
// arrives. Every socket wait is bounded, so a broken path fails, never hangs.
TcpTransferResult tcp_transfer(const std::string& client_ns, const std::string& server_ns, const std::string& server_ip,
                               std::uint16_t port, std::chrono::milliseconds duration);

}  // namespace vnic::test
