// The iperf3 server a vnic-bench server runs beside its request/response responder.
#pragma once

#include <cstdint>
#include <string>

#include "tools/common/child_process.h"

namespace vnic_bench {

class IperfServer {
 public:
  // Starts `iperf3 --server` on `port` (bound to `bind` unless empty) and waits until it listens;
  // throws std::runtime_error with iperf3's own words when it exits instead (port taken, ...).
  IperfServer(const std::string& bind, uint16_t port);

  // Throws std::runtime_error when iperf3 has exited since; drains what it printed.
  void check_alive();
  void stop() { child_.stop(); }

 private:
  std::string failure(std::string_view what);

  uint16_t port_;
  vnic_tools::ChildProcess child_;
  std::string said_;  // iperf3's stdout and stderr, for error messages
};

// Whether a TCP socket listens on `port` in this network namespace (/proc/net/tcp and tcp6).
bool tcp_port_listening(uint16_t port);

}  // namespace vnic_bench
