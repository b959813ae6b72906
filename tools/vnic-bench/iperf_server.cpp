#include "tools/vnic-bench/iperf_server.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "tools/vnic-bench/stop_signal.h"

namespace vnic_bench {
namespace {

constexpr std::chrono::seconds kStartLimit{10};
constexpr const char* kTcpListen = "0A";  // TCP_LISTEN in /proc/net/tcp's "st" column

bool listening_in(const char* table, uint16_t port) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);  // the header
  std::string local_port = fmt::format(":{:04X}", port);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    if (state == kTcpListen && local.ends_with(local_port)) return true;
  }
  return false;
}

}  // namespace

bool tcp_port_listening(uint16_t port) {
  return listening_in("/proc/net/tcp", port) || listening_in("/proc/net/tcp6", port);
}

IperfServer::IperfServer(const std::string& bind, uint16_t port) : port_(port) {
  if (tcp_port_listening(port))
    throw std::runtime_error(fmt::format("iperf3 server port {}/tcp: already in use (choose another --port)", port));
  std::vector<std::string> argv = {"iperf3", "--server", "--port", std::to_string(port)};
  if (!bind.empty()) argv.insert(argv.end(), {"--bind", bind});
  vnic_tools::ChildOptions options;
  options.out = vnic_tools::ChildOutput::pipe;
  options.err = vnic_tools::ChildOutput::pipe;
  child_ = vnic_tools::ChildProcess::spawn(argv, options);
  auto deadline = std::chrono::steady_clock::now() + kStartLimit;
  while (!tcp_port_listening(port)) {
    check_alive();
    throw_if_stopped();
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error(failure(fmt::format("not listening after {} s", kStartLimit.count())));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string IperfServer::failure(std::string_view what) {
  std::string words = vnic_tools::last_line(said_);
  return fmt::format("iperf3 --server --port {}: {}{}", port_, what, words.empty() ? "" : fmt::format(": {}", words));
}

void IperfServer::check_alive() {
  vnic_tools::OutputPump pump(child_);
  while (pump.pump(std::chrono::milliseconds(0)) && (!pump.out.empty() || !pump.err.empty())) {
    said_ += pump.out + pump.err;
    pump.out.clear();
    pump.err.clear();
  }
  said_ += pump.out + pump.err;
  if (said_.size() > 65536) said_.erase(0, said_.size() - 4096);
  if (child_.exited()) throw std::runtime_error(failure(fmt::format("exited with status {}", child_.exit_code())));
}

}  // namespace vnic_bench
