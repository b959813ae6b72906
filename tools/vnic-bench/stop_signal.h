// SIGINT and SIGTERM ask a long-running subcommand (server, client, ping, lab) to stop. The
// handler only sets a flag; every wait in vnic-bench polls it and throws Interrupted, so the
// teardown (children, namespaces, the lab) runs in destructors in normal context, never inside a
// signal handler.
#pragma once

#include <chrono>
#include <stdexcept>

namespace vnic_bench {

struct Interrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Installs the handlers (without SA_RESTART, so blocking calls return EINTR) and ignores SIGPIPE:
// a child that exits early must not kill us through a pipe we still write to.
void install_stop_handlers();

bool stop_requested();

// Throws Interrupted("interrupted by SIGINT") once a stop was requested.
void throw_if_stopped();

// Sleeps, waking early to throw Interrupted when a stop is requested.
void sleep_unless_stopped(std::chrono::nanoseconds duration);

}  // namespace vnic_bench
