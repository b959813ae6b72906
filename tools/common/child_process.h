// Starting other programs, for the tools and their tests alike: vnic-bench runs iperf3, socat, ip,
// the vnic-lab script and itself inside a namespace; the tests run vnicctl, vnic-bench and ip.
// Each child gets its own process group, so a Ctrl-C on the terminal reaches only the parent,
// which then stops its children in order; and a parent-death signal (SIGTERM), so no child
// outlives a parent that was killed outright. The signal follows the thread that spawned the
// child, so spawn long-lived children from a thread that outlives them. Between fork and exec the
// child makes only async-signal-safe calls, so spawning from a threaded test is safe; every
// descriptor we open is close-on-exec, and every child is reaped (a destructor stops and reaps
// one still running).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vnic_tools {

enum class ChildOutput {
  inherit,  // the parent's own stdout or stderr
  discard,  // /dev/null
  pipe,     // ChildProcess::out_fd() / err_fd(), read with OutputPump
  file,     // ChildOptions::output_file, created or truncated (stdout and stderr may share it)
  merge,    // stderr only: wherever stdout goes, interleaved as written (2>&1)
};

// Who the child runs as, set after fork: supplementary groups dropped, then the gid, then the uid.
struct ChildCredentials {
  uid_t uid;
  gid_t gid;
};

struct ChildOptions {
  ChildOutput out = ChildOutput::discard;
  ChildOutput err = ChildOutput::inherit;
  std::string output_file;                               // for ChildOutput::file
  std::vector<std::pair<std::string, std::string>> env;  // set (or replaced) in the child's environment
  std::optional<ChildCredentials> credentials;           // nullopt: ours
};

class ChildProcess {
 public:
  // Searches PATH for argv[0] like a shell. Throws std::runtime_error("cannot run NAME: reason")
  // when it cannot be started (not installed, not executable, credentials refused).
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
  // Sends `signal` to the child alone (not its group) while it runs, to ask it to stop its own way.
  void send_signal(int signal);
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
  int exit_code = -1;  // as ChildProcess::exit_code()
  std::string out;     // with CaptureOptions::merge_stderr, stderr too, interleaved
  std::string err;

  bool ok() const { return exit_code == 0; }
  // The exit code and both streams, for a test's failure message or an error naming the program.
  std::string describe() const;
};

struct CaptureOptions {
  std::chrono::nanoseconds timeout = std::chrono::seconds(60);
  std::function<void(std::string_view)> on_err_line;  // stderr is also kept in CapturedRun::err
  std::vector<std::pair<std::string, std::string>> env;
  std::optional<ChildCredentials> credentials;
  bool merge_stderr = false;  // 2>&1 into CapturedRun::out, in the order it was written
  // Called between waits; may throw (vnic-bench's Interrupted on SIGINT) to abandon the run, and
  // the child is stopped as the exception leaves. Unset for steps that must run to their end.
  std::function<void()> check_stop;
};

// Runs a program to its end with stdout and stderr captured, stdin from /dev/null. Throws
// std::runtime_error naming the program when it cannot be started or overruns the timeout (it is
// stopped first), and whatever check_stop throws.
CapturedRun run_captured(const std::vector<std::string>& argv, const CaptureOptions& options = {});

// run_captured with stderr merged into stdout, for commands whose output is only read when they
// succeed: returns that output, or throws std::runtime_error quoting the command line, its exit
// code and everything it said.
std::string run_checked(const std::vector<std::string>& argv, std::chrono::nanoseconds timeout = std::chrono::seconds(10));

// The last non-empty line of a program's stderr, for error messages ("" when it said nothing).
std::string last_line(std::string_view text);

struct ForkedRun {
  int exit_code = -1;  // 0 when `body` returned, 2 when it threw, else as ChildProcess::exit_code()
  std::string out;     // what `body` wrote to its descriptor, then "child: <what()>" if it threw
};

// Runs `body` in a forked copy of this process (no exec) and collects what it writes to the
// descriptor it is given, for changes that cannot be undone in-process: dropping credentials,
// seccomp filters, entering a namespace. Only for a single-threaded caller: the copy runs
// arbitrary code, which is unsafe when another thread held a lock at the fork.
ForkedRun run_forked(const std::function<void(int out_fd)>& body);

}  // namespace vnic_tools
