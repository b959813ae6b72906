// A plain-text table: the first column left-aligned (labels), the others right-aligned
// (figures), columns two spaces apart, widths from the widest cell.
#pragma once

#include <string>
#include <vector>

namespace vnic_bench {

using TextRow = std::vector<std::string>;

// Rows may be shorter than the header; missing cells print empty.
std::string render_table(const TextRow& header, const std::vector<TextRow>& rows);

}  // namespace vnic_bench
