// CPU time from /proc: per process (utime + stime of all its threads, /proc/PID/stat; network
// namespaces share the PID namespace, so a client inside `ip netns exec` sees the daemons) and
// system-wide (every CPU's busy time, /proc/stat).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace vnic_bench {

// utime + stime, in clock ticks, from the text of /proc/PID/stat. The command name (field 2) may
// hold spaces and parentheses, so the fields are counted from its last ')'. Throws
// std::runtime_error when the text is not such a line.
uint64_t cpu_ticks_from_pid_stat(std::string_view text);

struct SystemTicks {
  uint64_t busy = 0;   // user + nice + system + irq + softirq + steal
  uint64_t total = 0;  // busy + idle + iowait
};
// From the aggregate "cpu " line of /proc/stat; throws when there is none.
SystemTicks system_ticks_from_proc_stat(std::string_view text);

double ticks_to_seconds(uint64_t ticks);

// Throws std::runtime_error("process PID: gone") when it no longer exists.
double process_cpu_seconds(pid_t pid);
double system_busy_cpu_seconds();
bool process_exists(pid_t pid);

// CPU used between start() and stop(): by a set of processes (the transport: vnicd or socat) and
// by the whole machine.
class CpuMeter {
 public:
  explicit CpuMeter(std::vector<pid_t> pids) : pids_(std::move(pids)) {}
  void start();

  struct Used {
    std::optional<double> transport_s;  // nullopt when no pids were given
    double system_s = 0;
    double seconds = 0;  // wall clock
  };
  Used stop() const;

 private:
  double transport_now() const;

  std::vector<pid_t> pids_;
  double transport_start_ = 0;
  double system_start_ = 0;
  std::chrono::steady_clock::time_point wall_start_{};
};

}  // namespace vnic_bench
