// vnic-bench watch-carrier IFNAME (internal, for `lab`'s dead-detection test): run inside a
// namespace with `ip netns exec`, where /sys shows that namespace's interfaces. Prints "ready"
// once IFNAME has carrier, then polls its carrier every millisecond and prints
// "off MONOTONIC_NS" the moment it goes off. CLOCK_MONOTONIC is shared by every namespace, so the
// lab compares that time with the moment it killed the peer.
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "tools/common/number_parse.h"
#include "tools/vnic-bench/commands.h"
#include "tools/vnic-bench/stop_signal.h"
#include "tools/vnic-bench/udp_endpoint.h"

namespace vnic_bench {
namespace {

struct WatchArgs {
  std::string ifname;
  std::string timeout = "10";
};

// 1, 0, or -1 when the kernel will not say (an interface that is down reads EINVAL: no carrier).
int read_carrier(int fd) {
  char c = 0;
  ssize_t n = ::pread(fd, &c, 1, 0);
  if (n != 1) return -1;
  return c == '1' ? 1 : 0;
}

uint64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

int run_watch(const WatchArgs& args) {
  auto timeout = vnic_tools::parse_seconds("--timeout", args.timeout, 3600);
  install_stop_handlers();
  std::string path = fmt::format("/sys/class/net/{}/carrier", args.ifname);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw std::runtime_error(fmt::format("{}: {}", path, std::strerror(errno)));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (read_carrier(fd.get()) != 1) {
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error(args.ifname + ": no carrier to watch");
    sleep_unless_stopped(std::chrono::milliseconds(1));
  }
  fmt::print("ready\n");
  std::fflush(stdout);
  const timespec tick{0, 1'000'000};
  while (read_carrier(fd.get()) == 1) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error(fmt::format("{}: carrier still on after {:.0f} s", args.ifname,
                                           std::chrono::duration<double>(timeout).count()));
    throw_if_stopped();
    ::clock_nanosleep(CLOCK_MONOTONIC, 0, &tick, nullptr);
  }
  fmt::print("off {}\n", monotonic_ns());
  return 0;
}

}  // namespace

vnic_tools::Subcommand add_watch_carrier_command(CLI::App& app) {
  auto args = std::make_shared<WatchArgs>();
  CLI::App* cmd = app.add_subcommand("watch-carrier", "Internal: used by `vnic-bench lab` inside a namespace.");
  cmd->group("");  // hidden from --help
  cmd->add_option("ifname", args->ifname, "Interface")->required();
  cmd->add_option("--timeout", args->timeout, "Seconds before giving up (default 10)");
  return {cmd, [args] { return run_watch(*args); }};
}

}  // namespace vnic_bench
