// What vnic-bench takes from iperf3's --json output. iperf3 exits 0 even when the test failed
// (3.12 with --json), so the "error" key is what tells.
#pragma once

#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

namespace vnic_bench {

struct TcpResult {
  unsigned streams = 0;
  double gbit_per_s = 0;  // as received (sum_received), what crossed the link
  double sender_gbit_per_s = 0;
  uint64_t bytes = 0;  // received
  double seconds = 0;
  uint64_t retransmits = 0;
};

struct UdpResult {
  uint32_t payload_bytes = 0;
  uint64_t sent_frames = 0;
  uint64_t received_frames = 0;
  double sent_seconds = 0;
  double received_seconds = 0;
  double sent_frames_per_s = 0;
  double received_frames_per_s = 0;
  // (sent - received) / sent: includes the datagrams still in flight or dropped at the end of the
  // test, which iperf3's own lost_percent leaves out.
  double loss_percent = 0;
  double received_gbit_per_s = 0;
};

// Parses iperf3's output. Throws std::runtime_error("iperf3: ERROR") when it reports an error,
// and ("iperf3: output is not JSON: ...") when it is not JSON.
nlohmann::json parse_iperf_output(std::string_view text);

// From a finished TCP test (end.sum_sent, end.sum_received); throws naming a missing key.
TcpResult tcp_result_from(const nlohmann::json& doc);
// From a finished UDP test (end.sum_sent and end.sum_received, or end.sum with older iperf3).
UdpResult udp_result_from(const nlohmann::json& doc);

}  // namespace vnic_bench
