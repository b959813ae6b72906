#pragma once

#include <chrono>
#include <thread>

namespace vnic::test {

// Polls `condition` until it holds or `timeout` passes; returns the last result.
// For kernel state that settles asynchronously (linkwatch, DAD, ARP).
template <typename Condition>
bool wait_until(Condition&& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace vnic::test
