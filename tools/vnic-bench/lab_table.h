// The lab's report for people: one row per figure and one column per path, then vnic's ratios
// to veth and to socat; below it the storage floor, vnic's volume figures, what an idle vnicd
// costs, and dead detection. Every missing figure prints as "n/a".
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace vnic_bench {

// From the full lab report ({start, intervals, end, ratios}); parts that are absent are skipped.
std::string format_lab_table(const nlohmann::ordered_json& report);

}  // namespace vnic_bench
