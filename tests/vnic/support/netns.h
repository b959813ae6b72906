#pragma once

#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

#include "tests/support/skip.h"

namespace vnic::test {

// Why these tests cannot run here (no /dev/net/tun, no CAP_NET_ADMIN or
// CAP_SYS_ADMIN, no `ip`), or nullopt if they can.
std::optional<std::string> missing_privileges();

// A named network namespace ("vnict-<pid>-<n>") that exists for the guard's
// lifetime, removed even when the test fails. Namespaces left behind by a
// killed earlier run are swept on first use.
class ScopedNetns {
 public:
  ScopedNetns();
  ~ScopedNetns();
  ScopedNetns(const ScopedNetns&) = delete;
  ScopedNetns& operator=(const ScopedNetns&) = delete;

  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// Moves the calling thread into a named namespace; throws on failure.
void enter_netns(const std::string& name);

// Runs fn on a fresh thread inside the namespace and returns its result.
// Sockets, TAPs and netlink handles created there stay bound to that
// namespace, so the caller may keep using them from any thread.
template <typename Fn>
auto in_netns(const std::string& name, Fn&& fn) -> std::invoke_result_t<Fn&> {
  using Result = std::invoke_result_t<Fn&>;
  std::exception_ptr error;
  if constexpr (std::is_void_v<Result>) {
    std::thread([&] {
      try {
        enter_netns(name);
        fn();
      } catch (...) {
        error = std::current_exception();
      }
    }).join();
    if (error) {
      std::rethrow_exception(error);
    }
  } else {
    std::optional<Result> result;
    std::thread([&] {
      try {
        enter_netns(name);
        result.emplace(fn());
      } catch (...) {
        error = std::current_exception();
      }
    }).join();
    if (error) {
      std::rethrow_exception(error);
    }
    return std::move(*result);
  }
}

}  // namespace vnic::test

// Leaves the test case as a visible skip (tests/support/skip.h) when the namespaces cannot be made.
#define VNIC_REQUIRE_PRIVILEGES_OR_SKIP()                               \
  do {                                                                  \
    if (const auto vnic_missing = ::vnic::test::missing_privileges()) { \
      VNIC_SKIP(*vnic_missing);                                         \
    }                                                                   \
  } while (false)
