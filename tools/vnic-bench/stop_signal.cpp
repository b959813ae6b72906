#include "tools/vnic-bench/stop_signal.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include <fmt/format.h>

namespace vnic_bench {
namespace {

std::atomic<int> g_stop_signal{0};

void on_stop_signal(int signal) { g_stop_signal.store(signal); }

}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool stop_requested() { return g_stop_signal.load() != 0; }

void throw_if_stopped() {
  int signal = g_stop_signal.load();
  if (signal != 0) throw Interrupted(fmt::format("interrupted by {}", signal == SIGINT ? "SIGINT" : "SIGTERM"));
}

void sleep_unless_stopped(std::chrono::nanoseconds duration) {
  constexpr std::chrono::milliseconds kTick{20};
  auto deadline = std::chrono::steady_clock::now() + duration;
  for (;;) {
    throw_if_stopped();
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return;
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(deadline - now, kTick));
  }
}

}  // namespace vnic_bench
