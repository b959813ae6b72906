// The eventfd an engine signals when completions are posted, so an epoll loop can sleep on it.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include <fmt/format.h>

#include "blockxport/io_engine.h"

namespace blockxport {

class CompletionEventFd {
 public:
  explicit CompletionEventFd(const char* engine) : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw IoEngineError(fmt::format("{}: eventfd: {}", engine, std::strerror(errno)));
  }
  ~CompletionEventFd() { ::close(fd_); }
  CompletionEventFd(const CompletionEventFd&) = delete;
  CompletionEventFd& operator=(const CompletionEventFd&) = delete;

  int fd() const { return fd_; }
  // Wakes the loop for a completion the kernel did not post itself.
  void signal() const {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fd_, &one, sizeof(one));
  }
  void drain() const {
    uint64_t count;
    [[maybe_unused]] ssize_t n = ::read(fd_, &count, sizeof(count));
  }

 private:
  int fd_;
};

}  // namespace blockxport
