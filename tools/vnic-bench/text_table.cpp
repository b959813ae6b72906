#include "tools/vnic-bench/text_table.h"

#include <algorithm>

#include <fmt/format.h>

namespace vnic_bench {
namespace {

// Display width: bytes minus UTF-8 continuation bytes ("µs" is two columns, not three).
size_t width_of(const std::string& text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string padded(const std::string& text, size_t width, bool left) {
  std::string pad(width > width_of(text) ? width - width_of(text) : 0, ' ');
  return left ? text + pad : pad + text;
}

}  // namespace

std::string render_table(const TextRow& header, const std::vector<TextRow>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  auto measure = [&widths](const TextRow& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], width_of(row[i]));
  };
  measure(header);
  for (const TextRow& row : rows) measure(row);
  auto line = [&widths](const TextRow& row) {
    std::string out;
    for (size_t i = 0; i < widths.size(); ++i) {
      if (i > 0) out += "  ";
      out += padded(i < row.size() ? row[i] : "", widths[i], i == 0);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(header);
  for (const TextRow& row : rows) out += line(row);
  return out;
}

}  // namespace vnic_bench
