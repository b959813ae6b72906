// Figures as the text reports print them: a fixed number of significant digits, and "n/a" for a
// figure that is missing (JSON null or absent), so a gap is never mistaken for a zero.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace vnic_bench {

inline constexpr const char* kMissing = "n/a";

// 3 significant digits, without exponent for everyday magnitudes: 4.12, 41.2, 412, 41200.
std::string format_figure(std::optional<double> value);

// A count: the whole number, or "n/a".
std::string format_count(std::optional<double> value);

// The number at a JSON pointer ("/results/tcp_1stream/gbit_per_s"), or nullopt when absent or null.
std::optional<double> number_at(const nlohmann::ordered_json& doc, const std::string& pointer);

}  // namespace vnic_bench
