#include "tools/vnic-bench/child_process.h"

#include <fcntl.h>
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

#include "tools/vnic-bench/stop_signal.h"

extern char** environ;

namespace vnic_bench {
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

// In the child, between fork and exec: only async-signal-safe calls. Reports a failure as an
// errno on `report_fd` and exits.
[[noreturn]] void exec_child(pid_t parent, char** argv, char** envp, int out_fd, int err_fd, int report_fd) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(127);  // the parent died before the prctl
  // Ignored signals stay ignored across exec; the child must get the defaults back.
  ::signal(SIGPIPE, SIG_DFL);
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int null_fd = ::open("/dev/null", O_RDWR);
  ::dup2(null_fd, STDIN_FILENO);
  if (out_fd != STDOUT_FILENO) ::dup2(out_fd < 0 ? null_fd : out_fd, STDOUT_FILENO);
  if (err_fd != STDERR_FILENO) ::dup2(err_fd < 0 ? null_fd : err_fd, STDERR_FILENO);
  ::execvpe(argv[0], argv, envp);
  int error = errno;
  ssize_t ignored = ::write(report_fd, &error, sizeof(error));
  (void)ignored;
  ::_exit(127);
}

}  // namespace

ChildProcess ChildProcess::spawn(const std::vector<std::string>& argv, const ChildOptions& options) {
  if (argv.empty()) throw std::invalid_argument("ChildProcess::spawn: no program");
  std::vector<std::string> args = argv;
  std::vector<std::string> env = child_environment(options.env);
  std::vector<char*> argp = pointers(args);
  std::vector<char*> envp = pointers(env);

  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  int report_pipe[2] = {-1, -1};
  auto make_pipe = [](int fds[2]) {
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
  };
  make_pipe(report_pipe);
  if (options.out == ChildOutput::pipe) make_pipe(out_pipe);
  if (options.err == ChildOutput::pipe) make_pipe(err_pipe);
  auto child_end = [](ChildOutput mode, int pipe_write, int inherited) {
    return mode == ChildOutput::pipe ? pipe_write : mode == ChildOutput::inherit ? inherited : -1;
  };
  int child_out = child_end(options.out, out_pipe[1], STDOUT_FILENO);
  int child_err = child_end(options.err, err_pipe[1], STDERR_FILENO);

  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(fmt::format("cannot run {}: fork: {}", argv[0], std::strerror(errno)));
  if (pid == 0) exec_child(parent, argp.data(), envp.data(), child_out, child_err, report_pipe[1]);

  ::setpgid(pid, pid);  // also here: the parent may signal the group before the child ran at all
  close_fd(out_pipe[1]);
  close_fd(err_pipe[1]);
  close_fd(report_pipe[1]);
  ChildProcess child;
  child.pid_ = pid;
  child.running_ = true;
  child.name_ = base_name(argv[0]);
  child.out_fd_ = out_pipe[0];
  child.err_fd_ = err_pipe[0];
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

CapturedRun run_captured(const std::vector<std::string>& argv, const CaptureOptions& options) {
  ChildOptions child_options;
  child_options.out = ChildOutput::pipe;
  child_options.err = ChildOutput::pipe;
  child_options.env = options.env;
  ChildProcess child = ChildProcess::spawn(argv, child_options);
  OutputPump pump(child);
  pump.on_err_line = options.on_err_line;
  auto deadline = steady_clock::now() + options.timeout;
  while (pump.pump(std::chrono::milliseconds(50))) {
    if (options.interruptible && stop_requested()) {
      child.stop();
      throw_if_stopped();
    }
    if (steady_clock::now() > deadline) {
      child.stop();
      throw std::runtime_error(fmt::format("{} did not finish within {:.0f} s", child.name(),
                                           std::chrono::duration<double>(options.timeout).count()));
    }
  }
  // Both pipes closed: the child is exiting (or left a grandchild holding nothing of ours).
  while (!child.wait_for(std::chrono::milliseconds(50))) {
    if ((options.interruptible && stop_requested()) || steady_clock::now() > deadline) {
      child.stop();
      if (options.interruptible) throw_if_stopped();
      throw std::runtime_error(fmt::format("{} did not exit", child.name()));
    }
  }
  return {child.exit_code(), std::move(pump.out), std::move(pump.err)};
}

std::string last_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  size_t newline = text.rfind('\n');
  return std::string(newline == std::string_view::npos ? text : text.substr(newline + 1));
}

}  // namespace vnic_bench
