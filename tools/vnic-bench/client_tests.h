// The client's measurements, one after the other against a vnic-bench server: TCP throughput
// (1 and 4 streams), UDP frame rates at 64 and 1472-byte payloads, and 64-byte request/response
// round trips idle and under a concurrent TCP stream; with CPU seconds per Gbit of the transport
// processes (when given) and of the whole machine around each TCP test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/vnic-bench/rr_client.h"
#include "tools/vnic-bench/rtt_histogram.h"
#include "tools/vnic-bench/rtt_summary.h"

namespace vnic_bench {

struct ClientPlan {
  std::string host;
  uint16_t port = 0;  // request/response; iperf3 on port + 1
  std::chrono::nanoseconds duration{};
  std::vector<pid_t> transport_pids;
  std::chrono::milliseconds connect_timeout{3000};
};

// The test names, in the order they run; also the keys of the report's "results".
inline constexpr std::string_view kClientTests[] = {"tcp_1stream", "tcp_4streams", "udp_64",
                                                    "udp_1472",    "rr_idle",      "rr_load"};

// Called as each test starts, with its name and what it does.
using ClientProgress = std::function<void(std::string_view test, std::string_view what)>;

// Runs every test; returns {host, port, iperf3_port, duration_s, transport_pids, results}, with
// results.TEST as documented in `vnic-bench client --help`. Throws std::runtime_error naming the
// server when it cannot be reached.
nlohmann::ordered_json run_client_tests(const ClientPlan& plan, const ClientProgress& progress);

// A request/response run as a report object: {rtt: {count, lost, p50_us, ...}, stale, seconds,
// histogram}. Shared with `vnic-bench ping`.
nlohmann::ordered_json rr_report(const RrRun& run);

}  // namespace vnic_bench
