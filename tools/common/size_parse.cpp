#include "tools/common/size_parse.h"

#include <array>
#include <cctype>
#include <charconv>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace vnic_tools {
namespace {

struct Unit {
  std::string_view letter;
  unsigned shift;
};
constexpr std::array<Unit, 5> kUnits = {{{"", 0}, {"k", 10}, {"m", 20}, {"g", 30}, {"t", 40}}};

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "", "b", "k", "kb", "kib", ... -> the shift; nullopt-like -1 when the suffix is unknown.
int suffix_shift(std::string_view suffix) {
  std::string lower = lowercase(suffix);
  if (lower.empty() || lower == "b") return 0;
  for (const Unit& unit : kUnits) {
    if (unit.letter.empty()) continue;
    std::string letter(unit.letter);
    if (lower == letter || lower == letter + "b" || lower == letter + "ib") return static_cast<int>(unit.shift);
  }
  return -1;
}

}  // namespace

uint64_t parse_size(std::string_view text) {
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  uint64_t number = 0;
  auto [stop, error] = std::from_chars(begin, end, number, 10);
  if (stop == begin) {
    throw std::invalid_argument(
        fmt::format("'{}' is not a size (expected bytes or a number with K, M, G or T, e.g. 64K)", text));
  }
  if (error == std::errc::result_out_of_range) throw std::invalid_argument(fmt::format("'{}' is too large", text));
  int shift = suffix_shift(std::string_view(stop, static_cast<size_t>(end - stop)));
  if (shift < 0) {
    throw std::invalid_argument(fmt::format("'{}' is not a size (unknown suffix '{}'; use K, M, G or T)", text,
                                            std::string_view(stop, static_cast<size_t>(end - stop))));
  }
  if (shift > 0 && number > (UINT64_MAX >> shift)) throw std::invalid_argument(fmt::format("'{}' is too large", text));
  return number << shift;
}

std::string format_size(uint64_t bytes) {
  static constexpr std::array<std::string_view, 5> kNames = {"B", "KiB", "MiB", "GiB", "TiB"};
  size_t unit = 0;
  while (unit + 1 < kNames.size() && bytes >= (uint64_t{1} << (10 * (unit + 1)))) ++unit;
  if (unit == 0) return fmt::format("{} B", bytes);
  uint64_t scale = uint64_t{1} << (10 * unit);
  if (bytes % scale == 0) return fmt::format("{} {}", bytes / scale, kNames[unit]);
  return fmt::format("{:.1f} {}", static_cast<double>(bytes) / static_cast<double>(scale), kNames[unit]);
}

}  // namespace vnic_tools
