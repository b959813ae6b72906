#include "tools/vnic-bench/figure_format.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace vnic_bench {

std::string format_figure(std::optional<double> value) {
  if (!value || !std::isfinite(*value)) return kMissing;
  double v = *value;
  double magnitude = std::fabs(v);
  if (magnitude >= 1000 || v == 0) return fmt::format("{:.0f}", v);
  int decimals = std::clamp(2 - static_cast<int>(std::floor(std::log10(magnitude))), 0, 6);
  return fmt::format("{:.{}f}", v, decimals);
}

std::string format_count(std::optional<double> value) {
  if (!value || !std::isfinite(*value)) return kMissing;
  return fmt::format("{:.0f}", *value);
}

std::optional<double> number_at(const nlohmann::ordered_json& doc, const std::string& pointer) {
  nlohmann::ordered_json::json_pointer path(pointer);
  if (!doc.contains(path)) return std::nullopt;
  const auto& value = doc.at(path);
  if (!value.is_number()) return std::nullopt;
  return value.get<double>();
}

}  // namespace vnic_bench
