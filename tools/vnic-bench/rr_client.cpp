#include "tools/vnic-bench/rr_client.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "tools/vnic-bench/rr_protocol.h"
#include "tools/vnic-bench/stop_signal.h"

namespace vnic_bench {
namespace {

using std::chrono::steady_clock;

uint64_t elapsed_ns(steady_clock::time_point from, steady_clock::time_point to) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count());
}

}  // namespace

RrClient::RrClient(const Endpoint& server) : server_(server), fd_(connect_udp(server)) {}

void RrClient::set_receive_timeout(std::chrono::milliseconds timeout) {
  if (timeout == receive_timeout_) return;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
  if (::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
    throw std::runtime_error(fmt::format("SO_RCVTIMEO: {}", std::strerror(errno)));
  receive_timeout_ = timeout;
}

std::optional<uint64_t> RrClient::round_trip(std::chrono::milliseconds timeout) {
  // A blocking recv with SO_RCVTIMEO: one system call per answer, and SIGINT still interrupts it.
  set_receive_timeout(timeout);
  uint64_t sequence = next_sequence_++;
  RrMessage request = make_rr_request(sequence);
  auto sent_at = steady_clock::now();
  if (::send(fd_.get(), request.data(), request.size(), 0) < 0) {
    if (errno == ECONNREFUSED) throw std::runtime_error(fmt::format("{}: connection refused", server_.text));
    if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) return std::nullopt;
    throw std::runtime_error(fmt::format("{}: send: {}", server_.text, std::strerror(errno)));
  }
  std::byte answer[2048];
  for (;;) {
    ssize_t n = ::recv(fd_.get(), answer, sizeof(answer), 0);
    auto now = steady_clock::now();
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
      if (errno == EINTR) {
        throw_if_stopped();
        continue;
      }
      if (errno == ECONNREFUSED) throw std::runtime_error(fmt::format("{}: connection refused", server_.text));
      throw std::runtime_error(fmt::format("{}: recv: {}", server_.text, std::strerror(errno)));
    }
    auto answered = rr_sequence_of({answer, static_cast<size_t>(n)});
    if (answered && *answered == sequence) return elapsed_ns(sent_at, now);
    if (answered && *answered < sequence) ++stale_;
    if (now - sent_at >= timeout) return std::nullopt;
  }
}

void RrClient::wait_for_server(std::chrono::nanoseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  std::string last_error = "no answer";
  while (steady_clock::now() < deadline) {
    throw_if_stopped();
    try {
      if (round_trip(std::chrono::milliseconds(100))) return;
      last_error = "no answer";
    } catch (const Interrupted&) {
      throw;
    } catch (const std::runtime_error&) {
      last_error = "connection refused";  // nothing listens there (yet): try again until the deadline
      sleep_unless_stopped(std::chrono::milliseconds(100));
    }
  }
  throw std::runtime_error(
      fmt::format("{}: no vnic-bench server answered within {:.1f} s ({}; is `vnic-bench server` "
                  "running there, and is the host reachable?)",
                  server_.text, std::chrono::duration<double>(timeout).count(), last_error));
}

RrRun RrClient::run(const RrOptions& options) {
  auto warmup_end = steady_clock::now() + options.max_warmup;
  for (uint64_t i = 0; i < options.warmup && steady_clock::now() < warmup_end; ++i) {
    throw_if_stopped();
    round_trip(options.timeout);
  }
  RrRun run;
  uint64_t stale_before = stale_;
  if (options.count) run.samples_ns.reserve(*options.count);
  auto start = steady_clock::now();
  auto end = start + options.duration;
  for (uint64_t sent = 0;; ++sent) {
    if (options.count ? sent >= *options.count : steady_clock::now() >= end) break;
    throw_if_stopped();
    if (auto rtt = round_trip(options.timeout))
      run.samples_ns.push_back(*rtt);
    else
      ++run.lost;
  }
  run.seconds = std::chrono::duration<double>(steady_clock::now() - start).count();
  run.stale = stale_ - stale_before;
  return run;
}

}  // namespace vnic_bench
