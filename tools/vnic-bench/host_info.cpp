#include "tools/vnic-bench/host_info.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "tools/common/iso_time.h"
#include "tools/common/child_process.h"
#include "tools/vnic-bench/stop_signal.h"

namespace vnic_bench {
namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

}  // namespace

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen)) return "unknown";
  return fmt::format("{} {} {}", one, five, fifteen);
}

nlohmann::ordered_json host_info() {
  utsname u{};
  ::uname(&u);
  char host[256] = "";
  ::gethostname(host, sizeof(host) - 1);
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return {{"timestamp", vnic_tools::iso8601_utc(
                            static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()))},
          {"host", host},
          {"kernel", fmt::format("{} {} {} {}", u.sysname, u.release, u.version, u.machine)},
          {"cpu_count", ::sysconf(_SC_NPROCESSORS_ONLN)},
          {"cpu_model", cpu_model()},
          {"load_average", load_average()}};
}

nlohmann::ordered_json program_version(const std::vector<std::string>& argv) {
  try {
    vnic_tools::CaptureOptions options;
    options.check_stop = throw_if_stopped;
    options.timeout = std::chrono::seconds(10);
    vnic_tools::CapturedRun run = vnic_tools::run_captured(argv, options);
    // The line that names the version (socat's is its second), else the first.
    std::istringstream text(run.out.empty() ? run.err : run.out);
    std::string line, first;
    while (std::getline(text, line)) {
      if (first.empty()) first = line;
      if (line.find("version") != std::string::npos || line.find(" 3.") != std::string::npos) return line;
    }
    if (first.empty()) return nullptr;
    return first;
  } catch (const std::runtime_error&) {
    return nullptr;
  }
}

}  // namespace vnic_bench
