#include "tools/vnic-bench/cpu_usage.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace vnic_bench {
namespace {

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The whitespace-separated fields of `text`.
std::vector<std::string_view> fields(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t')) ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\n' && text[i] != '\t') ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

uint64_t number(std::string_view field, std::string_view what) {
  uint64_t value = 0;
  auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (error != std::errc() || end != field.data() + field.size())
    throw std::runtime_error(fmt::format("{}: '{}' is not a number", what, field));
  return value;
}

}  // namespace

uint64_t cpu_ticks_from_pid_stat(std::string_view text) {
  size_t close = text.rfind(')');
  if (close == std::string_view::npos) throw std::runtime_error("/proc/PID/stat: no ')' after the command name");
  // After "pid (comm)": state is field 3, utime field 14, stime field 15.
  auto rest = fields(text.substr(close + 1));
  constexpr size_t kUtime = 14 - 3;
  if (rest.size() <= kUtime + 1) throw std::runtime_error("/proc/PID/stat: too few fields");
  return number(rest[kUtime], "/proc/PID/stat utime") + number(rest[kUtime + 1], "/proc/PID/stat stime");
}

SystemTicks system_ticks_from_proc_stat(std::string_view text) {
  size_t line_start = 0;
  while (line_start < text.size()) {
    size_t line_end = text.find('\n', line_start);
    std::string_view line =
        text.substr(line_start, line_end == std::string_view::npos ? std::string_view::npos : line_end - line_start);
    auto f = fields(line);
    if (!f.empty() && f[0] == "cpu") {
      if (f.size() < 9) throw std::runtime_error("/proc/stat: the cpu line has too few fields");
      uint64_t user = number(f[1], "/proc/stat"), nice = number(f[2], "/proc/stat"),
               system = number(f[3], "/proc/stat");
      uint64_t idle = number(f[4], "/proc/stat"), iowait = number(f[5], "/proc/stat"), irq = number(f[6], "/proc/stat");
      uint64_t softirq = number(f[7], "/proc/stat"), steal = number(f[8], "/proc/stat");
      SystemTicks t;
      t.busy = user + nice + system + irq + softirq + steal;
      t.total = t.busy + idle + iowait;
      return t;
    }
    if (line_end == std::string_view::npos) break;
    line_start = line_end + 1;
  }
  throw std::runtime_error("/proc/stat: no cpu line");
}

double ticks_to_seconds(uint64_t ticks) {
  static const long kTicksPerSecond = ::sysconf(_SC_CLK_TCK);
  return static_cast<double>(ticks) / static_cast<double>(kTicksPerSecond);
}

double process_cpu_seconds(pid_t pid) {
  auto text = read_text(fmt::format("/proc/{}/stat", pid));
  if (!text) throw std::runtime_error(fmt::format("process {}: gone (no /proc/{}/stat)", pid, pid));
  return ticks_to_seconds(cpu_ticks_from_pid_stat(*text));
}

double system_busy_cpu_seconds() {
  auto text = read_text("/proc/stat");
  if (!text) throw std::runtime_error("/proc/stat: cannot read");
  return ticks_to_seconds(system_ticks_from_proc_stat(*text).busy);
}

bool process_exists(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

double CpuMeter::transport_now() const {
  double sum = 0;
  for (pid_t pid : pids_) sum += process_cpu_seconds(pid);
  return sum;
}

void CpuMeter::start() {
  transport_start_ = transport_now();
  system_start_ = system_busy_cpu_seconds();
  wall_start_ = std::chrono::steady_clock::now();
}

CpuMeter::Used CpuMeter::stop() const {
  Used used;
  if (!pids_.empty()) used.transport_s = transport_now() - transport_start_;
  used.system_s = system_busy_cpu_seconds() - system_start_;
  used.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start_).count();
  return used;
}

}  // namespace vnic_bench
