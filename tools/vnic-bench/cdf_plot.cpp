#include "tools/vnic-bench/cdf_plot.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "tools/common/child_process.h"
#include "tools/vnic-bench/stop_signal.h"

namespace vnic_bench {
namespace {

// gnuplot's single-quoted strings take a quote as two.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw std::runtime_error(fmt::format("{}: cannot write", path));
}

}  // namespace

std::string cdf_data(const std::vector<CdfCurve>& curves) {
  std::string out;
  for (const CdfCurve& curve : curves) {
    out += fmt::format("# {}\n", curve.title);
    auto points = curve.histogram.cdf();
    // Start the step at zero just below the first bucket, so each curve rises from the axis.
    if (!points.empty()) out += fmt::format("{:.6g} 0\n", points.front().first / 1.0116);
    for (const auto& [us, fraction] : points) out += fmt::format("{:.6g} {:.6g}\n", us, fraction);
    out += "\n\n";
  }
  return out;
}

std::string cdf_script(const std::vector<CdfCurve>& curves, const std::string& data_path, const std::string& svg_path,
                       const std::string& title) {
  std::string script = fmt::format(
      "set terminal svg size 1000,620 dynamic enhanced font 'sans,12' background '#ffffff'\n"
      "set encoding utf8\n"
      "set output {}\n"
      "set title {}\n"
      "set logscale x 10\n"
      "set format x '10^{{%L}}'\n"
      "set xlabel 'round-trip time (µs), log scale'\n"
      "set ylabel 'fraction of round trips at or below'\n"
      "set yrange [0:1.02]\n"
      "set grid xtics mxtics ytics\n"
      "set key outside right center\n",
      quoted(svg_path), quoted(title));
  std::string plots;
  for (size_t i = 0; i < curves.size(); ++i) {
    const CdfCurve& c = curves[i];
    if (c.histogram.count() == 0) continue;
    if (!plots.empty()) plots += ", \\\n     ";
    plots += fmt::format("{} index {} using 1:2 with steps linewidth 2 linecolor {} dashtype {} title {}",
                         quoted(data_path), i, c.color, c.dashed ? 2 : 1, quoted(c.title));
  }
  if (plots.empty()) throw std::runtime_error("no round-trip samples to plot");
  return script + "plot " + plots + "\n";
}

void plot_cdf_svg(const std::vector<CdfCurve>& curves, const std::string& svg_path, const std::string& title) {
  std::string dir_template = (std::filesystem::temp_directory_path() / "vnic-bench-plot-XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) throw std::runtime_error("cannot create a temporary directory");
  std::string dir = dir_template;
  struct RemoveDir {
    std::string path;
    ~RemoveDir() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  } remove_dir{dir};
  std::string data = dir + "/cdf.dat";
  std::string script = dir + "/cdf.gp";
  write_text(data, cdf_data(curves));
  write_text(script, cdf_script(curves, data, svg_path, title));
  vnic_tools::CaptureOptions options;
  options.check_stop = throw_if_stopped;
  options.timeout = std::chrono::seconds(60);
  vnic_tools::CapturedRun run = vnic_tools::run_captured({"gnuplot", script}, options);
  if (run.exit_code != 0)
    throw std::runtime_error(fmt::format("gnuplot: {}", vnic_tools::last_line(run.err).empty() ? "failed" : vnic_tools::last_line(run.err)));
}

}  // namespace vnic_bench
