// A tool left running while a test talks to it (vnic-bench server), stopped with a signal and
// reaped by the test or, failing that, by the destructor.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace tools_test {

class BackgroundProcess {
 public:
  // stdout and stderr go to `log_path`, so the test can wait for a line and show it on failure.
  BackgroundProcess(const std::string& program, const std::vector<std::string>& args, const std::string& log_path);
  ~BackgroundProcess();  // SIGKILL and reap when still running
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Waits until the log holds `text`; false after `timeout` or when the process exited.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout);
  // Sends `signal`, waits up to `timeout`: the exit code (128 + signal when killed), or -1.
  int stop(int signal, std::chrono::milliseconds timeout);
  std::string log() const;

 private:
  bool running();

  pid_t pid_ = -1;
  int status_ = -1;
  std::string log_path_;
};

}  // namespace tools_test
