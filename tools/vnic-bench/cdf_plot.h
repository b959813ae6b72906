// The SVG of the round-trip distributions: a CDF per path (and the storage floor) on a log-scale
// time axis, drawn by gnuplot from a temporary data file.
#pragma once

#include <string>
#include <vector>

#include "tools/vnic-bench/rtt_histogram.h"

namespace vnic_bench {

struct CdfCurve {
  std::string title;
  RttHistogram histogram;
  int color = 1;  // gnuplot line type: the same for a path's idle and loaded curves
  bool dashed = false;
};

// The data file: one block per curve ("x fraction" lines), blocks two blank lines apart (gnuplot's
// `index`).
std::string cdf_data(const std::vector<CdfCurve>& curves);

// The gnuplot script that reads `data_path` and writes `svg_path`.
std::string cdf_script(const std::vector<CdfCurve>& curves, const std::string& data_path, const std::string& svg_path,
                       const std::string& title);

// Writes the SVG; throws std::runtime_error with gnuplot's words when it fails. The caller checks
// that gnuplot is installed first.
void plot_cdf_svg(const std::vector<CdfCurve>& curves, const std::string& svg_path, const std::string& title);

}  // namespace vnic_bench
