// The client side of the request/response test, netperf UDP_RR style: one 64-byte request in
// flight at a time, the next sent as soon as the answer arrives, every round trip timed with the
// monotonic clock. A request unanswered within the timeout counts as lost; a late answer to it is
// recognised by its sequence number and ignored.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "tools/vnic-bench/udp_endpoint.h"

namespace vnic_bench {

struct RrOptions {
  std::optional<uint64_t> count;  // requests recorded (answered or lost); else run for `duration`
  std::chrono::nanoseconds duration{};
  std::chrono::milliseconds timeout{1000};  // per request
  uint64_t warmup = 300;                    // requests sent first and not recorded (ARP, caches, poll state)
  std::chrono::nanoseconds max_warmup = std::chrono::seconds(2);
};

struct RrRun {
  std::vector<uint64_t> samples_ns;  // answered requests' round trips, in order
  uint64_t lost = 0;
  uint64_t stale = 0;  // late answers to requests already counted lost
  double seconds = 0;  // the recorded part
};

class RrClient {
 public:
  explicit RrClient(const Endpoint& server);

  // Sends a request every 100 ms until one is answered; throws std::runtime_error naming the
  // server when none is within `timeout` (no server there, or no route to it).
  void wait_for_server(std::chrono::nanoseconds timeout);

  // Throws Interrupted on SIGINT/SIGTERM, std::runtime_error when the server goes away (ICMP
  // port unreachable).
  RrRun run(const RrOptions& options);

 private:
  // One request: its round trip in ns, or nullopt when unanswered within `timeout`.
  std::optional<uint64_t> round_trip(std::chrono::milliseconds timeout);
  void set_receive_timeout(std::chrono::milliseconds timeout);

  Endpoint server_;
  Fd fd_;
  uint64_t next_sequence_ = 1;
  uint64_t stale_ = 0;
  std::chrono::milliseconds receive_timeout_{-1};
};

}  // namespace vnic_bench
