// The programs vnic-bench runs: iperf3, socat, ip, the vnic-lab script, and itself inside a
// namespace. Each child gets its own process group, so a Ctrl-C on the terminal reaches only
// vnic-bench, which then stops its children in order; and a parent-death signal (SIGTERM), so no
// child outlives a vnic-bench that was killed outright.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vnic_bench {

enum class ChildOutput { inherit, discard, pipe };

struct ChildOptions {
  ChildOutput out = ChildOutput::discard;
  ChildOutput err = ChildOutput::inherit;
  std::vector<std::pair<std::string, std::string>> env;  // set (or replaced) in the child's environment
};

class ChildProcess {
 public:
  // Searches PATH for argv[0] like a shell. Throws std::runtime_error("cannot run NAME: reason")
  // when it cannot be started (not installed, not executable).
  static ChildProcess spawn(const std::vector<std::string>& argv, const ChildOptions& options = {});

  ChildProcess() = default;
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // stop()s a child that still runs

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  int out_fd() const { return out_fd_; }
  int err_fd() const { return err_fd_; }

  // True once the child exited (reaping it); never blocks.
  bool exited();
  // 0 to 255 as it exited, or 128 + the signal that killed it; -1 while it runs.
  int exit_code() const { return exit_code_; }
  // Waits up to `timeout` for the child to exit on its own.
  bool wait_for(std::chrono::nanoseconds timeout);
  // SIGTERM to its process group, SIGKILL after `grace`, then reaps it. Does nothing once it has
  // exited, so a group it left behind (vnic-lab's daemons) is never signalled by accident.
  void stop(std::chrono::nanoseconds grace = std::chrono::seconds(3));

 private:
  void close_pipes();
  void reaped(int status);

  pid_t pid_ = -1;
  bool running_ = false;
  int exit_code_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string name_;
};

// Reads a child's two pipes as output arrives, without blocking on one while the other fills.
class OutputPump {
 public:
  explicit OutputPump(ChildProcess& child) : child_(child) {}

  std::function<void(std::string_view)> on_err_line;  // each complete line of stderr, without '\n'
  std::function<void(std::string_view)> on_out_line;  // each complete line of stdout

  // Waits up to `timeout` for output and hands it on; false once both pipes are closed.
  bool pump(std::chrono::milliseconds timeout);

  std::string out;  // everything read so far
  std::string err;

 private:
  void take(int fd, std::string& sink, size_t& line_start, const std::function<void(std::string_view)>& on_line);

  ChildProcess& child_;
  bool out_open_ = true;
  bool err_open_ = true;
  size_t out_line_start_ = 0;
  size_t err_line_start_ = 0;
};

struct CapturedRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

struct CaptureOptions {
  std::chrono::nanoseconds timeout = std::chrono::seconds(60);
  std::function<void(std::string_view)> on_err_line;  // stderr is also kept in CapturedRun::err
  std::vector<std::pair<std::string, std::string>> env;
  // false for teardown steps, which must run to their end even after SIGINT/SIGTERM.
  bool interruptible = true;
};

// Runs a program to its end with stdout and stderr captured. Throws Interrupted (after stopping
// the child) on SIGINT/SIGTERM when interruptible, and std::runtime_error naming the program when it overruns the
// timeout.
CapturedRun run_captured(const std::vector<std::string>& argv, const CaptureOptions& options);

// The last non-empty line of a program's stderr, for error messages ("" when it said nothing).
std::string last_line(std::string_view text);

}  // namespace vnic_bench
