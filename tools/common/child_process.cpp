#include "tools/common/child_process.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

extern char** environ;

namespace vnic_tools {
namespace {

using std::chrono::steady_clock;

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string base_name(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The child's environment, built before fork: setenv is not safe between fork and exec.
std::vector<std::string> child_environment(const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    bool replaced = false;
    for (const auto& [name, value] : overrides) replaced = replaced || entry.starts_with(name + "=");
    if (!replaced) env.emplace_back(entry);
  }
  for (const auto& [name, value] : overrides) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Everything the child needs, prepared before fork so the child allocates nothing.
struct ExecPlan {
  pid_t parent;
  char** argv;
  char** envp;
  int out_fd;  // -1: /dev/null
  int err_fd;  // -1: /dev/null; kMergeIntoOut: wherever stdout went
  int report_fd;
  const ChildCredentials* credentials;
};
constexpr int kMergeIntoOut = -2;

[[noreturn]] void report_and_exit(int report_fd) {
  int error = errno;
  ssize_t ignored = ::write(report_fd, &error, sizeof(error));
  (void)ignored;
  ::_exit(127);
}

// In the child, between fork and exec: only async-signal-safe calls. Reports a failure as an
// errno on `report_fd` and exits.
[[noreturn]] void exec_child(const ExecPlan& plan) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != plan.parent) ::_exit(127);  // the parent died before the prctl
  // Ignored signals stay ignored across exec; the child must get the defaults back.
  ::signal(SIGPIPE, SIG_DFL);
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int null_fd = ::open("/dev/null", O_RDWR);
  ::dup2(null_fd, STDIN_FILENO);
  if (plan.out_fd != STDOUT_FILENO) ::dup2(plan.out_fd < 0 ? null_fd : plan.out_fd, STDOUT_FILENO);
  if (plan.err_fd == kMergeIntoOut)
    ::dup2(STDOUT_FILENO, STDERR_FILENO);
  else if (plan.err_fd != STDERR_FILENO)
    ::dup2(plan.err_fd < 0 ? null_fd : plan.err_fd, STDERR_FILENO);
  if (plan.credentials != nullptr) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(plan.credentials->gid) != 0 || ::setuid(plan.credentials->uid) != 0)
      report_and_exit(plan.report_fd);
  }
  ::execvpe(plan.argv[0], plan.argv, plan.envp);
  report_and_exit(plan.report_fd);
}

}  // namespace

ChildProcess ChildProcess::spawn(const std::vector<std::string>& argv, const ChildOptions& options) {
  if (argv.empty()) throw std::invalid_argument("ChildProcess::spawn: no program");
  if (options.out == ChildOutput::merge) throw std::invalid_argument("ChildProcess::spawn: only stderr can merge");
  std::vector<std::string> args = argv;
  std::vector<std::string> env = child_environment(options.env);
  std::vector<char*> argp = pointers(args);
  std::vector<char*> envp = pointers(env);

  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  int report_pipe[2] = {-1, -1};
  int file_fd = -1;
  auto close_all = [&] {
    for (int* fd : {&out_pipe[0], &out_pipe[1], &err_pipe[0], &err_pipe[1], &report_pipe[0], &report_pipe[1], &file_fd})
      close_fd(*fd);
  };
  auto make_pipe = [&](int fds[2]) {
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      int error = errno;
      close_all();
      throw std::runtime_error(fmt::format("cannot run {}: pipe: {}", argv[0], std::strerror(error)));
    }
  };
  make_pipe(report_pipe);
  if (options.out == ChildOutput::pipe) make_pipe(out_pipe);
  if (options.err == ChildOutput::pipe) make_pipe(err_pipe);
  if (options.out == ChildOutput::file || options.err == ChildOutput::file) {
    file_fd = ::open(options.output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (file_fd < 0) {
      int error = errno;
      close_all();
      throw std::runtime_error(
          fmt::format("cannot run {}: open {}: {}", argv[0], options.output_file, std::strerror(error)));
    }
  }
  auto child_end = [&](ChildOutput mode, int pipe_write, int inherited) {
    switch (mode) {
      case ChildOutput::inherit: return inherited;
      case ChildOutput::pipe: return pipe_write;
      case ChildOutput::file: return file_fd;
      case ChildOutput::merge: return kMergeIntoOut;
      case ChildOutput::discard: break;
    }
    return -1;
  };
  ExecPlan plan{::getpid(),
                argp.data(),
                envp.data(),
                child_end(options.out, out_pipe[1], STDOUT_FILENO),
                child_end(options.err, err_pipe[1], STDERR_FILENO),
                report_pipe[1],
                options.credentials ? &*options.credentials : nullptr};

  pid_t pid = ::fork();
  if (pid < 0) {
    int error = errno;
    close_all();
    throw std::runtime_error(fmt::format("cannot run {}: fork: {}", argv[0], std::strerror(error)));
  }
  if (pid == 0) exec_child(plan);

  ::setpgid(pid, pid);  // also here: the parent may signal the group before the child ran at all
  close_fd(out_pipe[1]);
  close_fd(err_pipe[1]);
  close_fd(report_pipe[1]);
  close_fd(file_fd);
  ChildProcess child;
  child.pid_ = pid;
  child.running_ = true;
  child.name_ = base_name(argv[0]);
  child.out_fd_ = out_pipe[0];
  child.err_fd_ = err_pipe[0];
  // The report pipe closes on exec (success) or carries the errno of what failed before it.
  int exec_errno = 0;
  ssize_t n = 0;
  do n = ::read(report_pipe[0], &exec_errno, sizeof(exec_errno));
  while (n < 0 && errno == EINTR);
  close_fd(report_pipe[0]);
  if (n == sizeof(exec_errno)) {
    child.wait_for(std::chrono::seconds(5));
    throw std::runtime_error(
        fmt::format("cannot run {}: {}", argv[0],
                    exec_errno == ENOENT ? "not found (is it installed?)" : std::strerror(exec_errno)));
  }
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept { *this = std::move(other); }

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    stop();
    close_pipes();
    pid_ = std::exchange(other.pid_, -1);
    running_ = std::exchange(other.running_, false);
    exit_code_ = std::exchange(other.exit_code_, -1);
    out_fd_ = std::exchange(other.out_fd_, -1);
    err_fd_ = std::exchange(other.err_fd_, -1);
    name_ = std::move(other.name_);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  stop();
  close_pipes();
}

void ChildProcess::close_pipes() {
  close_fd(out_fd_);
  close_fd(err_fd_);
}

void ChildProcess::reaped(int status) {
  running_ = false;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool ChildProcess::exited() {
  if (!running_) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) reaped(status);
  if (r < 0 && errno == ECHILD) running_ = false;
  return !running_;
}

bool ChildProcess::wait_for(std::chrono::nanoseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  while (!exited()) {
    if (steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void ChildProcess::send_signal(int signal) {
  if (!exited()) ::kill(pid_, signal);
}

void ChildProcess::stop(std::chrono::nanoseconds grace) {
  if (!running_ || exited()) return;
  ::kill(-pid_, SIGTERM);
  ::kill(pid_, SIGTERM);  // in case it has not reached its own process group yet
  if (wait_for(grace)) return;
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped(status);
}

bool OutputPump::pump(std::chrono::milliseconds timeout) {
  pollfd fds[2];
  nfds_t count = 0;
  if (out_open_ && child_.out_fd() >= 0) fds[count++] = {child_.out_fd(), POLLIN, 0};
  if (err_open_ && child_.err_fd() >= 0) fds[count++] = {child_.err_fd(), POLLIN, 0};
  if (count == 0) return false;
  int ready = ::poll(fds, count, static_cast<int>(timeout.count()));
  if (ready < 0 && errno != EINTR) throw std::runtime_error(fmt::format("poll: {}", std::strerror(errno)));
  for (nfds_t i = 0; ready > 0 && i < count; ++i) {
    if (fds[i].revents == 0) continue;
    if (fds[i].fd == child_.out_fd())
      take(fds[i].fd, out, out_line_start_, on_out_line);
    else
      take(fds[i].fd, err, err_line_start_, on_err_line);
  }
  return (out_open_ && child_.out_fd() >= 0) || (err_open_ && child_.err_fd() >= 0);
}

void OutputPump::take(int fd, std::string& sink, size_t& line_start,
                      const std::function<void(std::string_view)>& on_line) {
  char buffer[16384];
  ssize_t n = ::read(fd, buffer, sizeof(buffer));
  if (n < 0 && errno == EINTR) return;
  if (n <= 0) {
    (fd == child_.out_fd() ? out_open_ : err_open_) = false;
    if (on_line && line_start < sink.size())
      on_line(std::string_view(sink).substr(line_start));  // an unfinished last line
    line_start = sink.size();
    return;
  }
  sink.append(buffer, static_cast<size_t>(n));
  for (size_t newline; (newline = sink.find('\n', line_start)) != std::string::npos; line_start = newline + 1) {
    if (on_line) on_line(std::string_view(sink).substr(line_start, newline - line_start));
  }
}

std::string CapturedRun::describe() const {
  return fmt::format("exit code {}\n--- stdout ---\n{}\n--- stderr ---\n{}", exit_code, out, err);
}

CapturedRun run_captured(const std::vector<std::string>& argv, const CaptureOptions& options) {
  ChildOptions child_options;
  child_options.out = ChildOutput::pipe;
  child_options.err = options.merge_stderr ? ChildOutput::merge : ChildOutput::pipe;
  child_options.env = options.env;
  child_options.credentials = options.credentials;
  ChildProcess child = ChildProcess::spawn(argv, child_options);
  OutputPump pump(child);
  pump.on_err_line = options.on_err_line;
  auto deadline = steady_clock::now() + options.timeout;
  auto overran = [&](const char* what) {
    child.stop();
    return std::runtime_error(fmt::format("{} did not {} within {:.0f} s", child.name(), what,
                                          std::chrono::duration<double>(options.timeout).count()));
  };
  while (pump.pump(std::chrono::milliseconds(50))) {
    if (options.check_stop) options.check_stop();
    if (steady_clock::now() > deadline) throw overran("finish");
  }
  // Both pipes closed: the child is exiting (or left a grandchild holding nothing of ours).
  while (!child.wait_for(std::chrono::milliseconds(50))) {
    if (options.check_stop) options.check_stop();
    if (steady_clock::now() > deadline) throw overran("exit");
  }
  return {child.exit_code(), std::move(pump.out), std::move(pump.err)};
}

std::string run_checked(const std::vector<std::string>& argv, std::chrono::nanoseconds timeout) {
  CaptureOptions options;
  options.timeout = timeout;
  options.merge_stderr = true;
  CapturedRun run = run_captured(argv, options);
  if (!run.ok())
    throw std::runtime_error(fmt::format("`{}` failed (exit {}): {}", fmt::join(argv, " "), run.exit_code, run.out));
  return std::move(run.out);
}

std::string last_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  size_t newline = text.rfind('\n');
  return std::string(newline == std::string_view::npos ? text : text.substr(newline + 1));
}

ForkedRun run_forked(const std::function<void(int out_fd)>& body) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
  pid_t pid = ::fork();
  if (pid < 0) {
    int error = errno;
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    throw std::runtime_error(fmt::format("fork: {}", std::strerror(error)));
  }
  if (pid == 0) {
    ::close(pipe_fds[0]);
    try {
      body(pipe_fds[1]);
    } catch (const std::exception& e) {
      std::string line = std::string("child: ") + e.what() + "\n";
      ssize_t ignored = ::write(pipe_fds[1], line.data(), line.size());
      (void)ignored;
      ::_exit(2);
    }
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  ForkedRun run;
  char buffer[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof(buffer))) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    run.out.append(buffer, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return run;
}

}  // namespace vnic_tools
