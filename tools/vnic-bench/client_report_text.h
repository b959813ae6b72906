// The human-readable form of `vnic-bench client` and `vnic-bench ping` reports.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace vnic_bench {

// One line of round-trip figures from an "rtt" object: count, lost, then µs percentiles.
std::string format_rtt_line(const nlohmann::ordered_json& rtt);

// The client's report (run_client_tests), one line per test.
std::string format_client_report(const nlohmann::ordered_json& report);

}  // namespace vnic_bench
