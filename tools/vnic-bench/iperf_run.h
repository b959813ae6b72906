// Runs the iperf3 client against a vnic-bench server's iperf3 (which listens on the request/
// response port + 1) and hands back its parsed --json output.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/common/child_process.h"

namespace vnic_bench {

struct IperfTest {
  std::string host;
  uint16_t port = 0;
  std::chrono::nanoseconds duration{};  // iperf3 takes whole seconds: rounded up, at least 1
  unsigned streams = 1;
  std::optional<uint32_t> udp_payload;  // UDP with this payload size, as fast as iperf3 can send
  std::chrono::milliseconds connect_timeout{3000};
};

std::vector<std::string> iperf_client_argv(const IperfTest& test);

struct IperfRun {
  nlohmann::json doc;     // iperf3's parsed output
  unsigned attempts = 1;  // more than 1 when a test had to be run again
};

// Runs one test to its end. For up to 10 s it waits and retries while the server is between two
// tests: iperf3's server says it is busy, or refuses the connection for a moment after a test
// (the caller has already found the server up). It runs a test again (twice at most) when its
// control connection broke: an unpaced UDP flood on a slow link can starve iperf3's own TCP
// exchange. Throws std::runtime_error("iperf3 -c HOST -p PORT: ERROR") otherwise.
// `before_attempt` runs right before each attempt (the CPU meter restarts there, so a failed
// attempt's CPU is not charged to the bytes of the one that counts).
IperfRun run_iperf(const IperfTest& test, const std::function<void()>& before_attempt = {});

// Whether an iperf3 error means its server is between two tests (busy, or refusing for a moment).
bool is_server_between_tests(std::string_view message);
// Whether an iperf3 error is its control connection failing (worth running the test again).
bool is_control_connection_error(std::string_view message);

// An iperf3 client in the background: the load under which the request/response test runs.
class BackgroundIperf {
 public:
  explicit BackgroundIperf(const IperfTest& test);
  // Waits for it to finish on its own and returns its parsed output.
  nlohmann::json finish();

 private:
  IperfTest test_;
  vnic_tools::ChildProcess child_;
};

}  // namespace vnic_bench
