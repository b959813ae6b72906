#include "vnic/tap_device.h"
#include "vnic/unique_fd.h"

#include "tools/common/child_process.h"
#include "tests/vnic/support/frame_forwarder.h"
#include "tests/vnic/support/netns.h"
#include "tests/vnic/support/tap_fixture.h"
#include "tests/vnic/support/tcp_transfer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

using namespace std::chrono_literals;
using vnic::TapOptions;
using vnic::test::ScopedNetns;

namespace {

constexpr unsigned kMtu = 1500;
constexpr std::uint64_t kEthernetHeader = 14;

vnic::test::NamespacedTap tap_up_in(const ScopedNetns& ns, bool offload, const std::string& cidr) {
  vnic::test::NamespacedTap nic = vnic::test::open_tap_in(ns.name(), TapOptions{.name = "vnic0", .offload = offload});
  nic.link.set_mtu(kMtu);
  vnic::test::bring_up(nic, cidr);
  return nic;
}

// Two namespaces, each with a TAP, joined only by a userspace forwarder:
// vnicd's data path with the storage transport taken out. The forwarder starts only once both
// TAPs are up: a kernel sends IPv6 MLD and DAD frames the moment its link comes up, and had the
// forwarder passed those to a TAP still down, they would be dropped, as by any NIC that is down.
struct ForwardedPair {
  ScopedNetns ns_a;
  ScopedNetns ns_b;
  vnic::test::NamespacedTap a;
  vnic::test::NamespacedTap b;
  vnic::test::FrameForwarder forwarder;

  ForwardedPair(bool offload_a, bool offload_b)
      : a(tap_up_in(ns_a, offload_a, "10.77.2.1/24")),
        b(tap_up_in(ns_b, offload_b, "10.77.2.2/24")),
        forwarder(a.tap, b.tap) {}
};

void check_ping(const ForwardedPair& pair) {
  vnic_tools::CaptureOptions options;
  options.timeout = 10s;
  options.merge_stderr = true;
  const vnic_tools::CapturedRun ping = vnic_tools::run_captured(
      {"ip", "netns", "exec", pair.ns_a.name(), "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.77.2.2"}, options);
  INFO(ping.out);
  CHECK(ping.ok());
  CHECK_THAT(ping.out, Catch::Contains("3 received"));
}

vnic::test::TcpTransferResult check_tcp_transfer(const ForwardedPair& pair) {
  const vnic::test::TcpTransferResult transfer =
      vnic::test::tcp_transfer(pair.ns_a.name(), pair.ns_b.name(), "10.77.2.2", 5201, 1500ms);
  INFO(transfer.error);
  CHECK(transfer.error.empty());
  CHECK(transfer.bytes_sent > 0);
  CHECK(transfer.bytes_received == transfer.bytes_sent);
  CHECK(transfer.content_intact);
  return transfer;
}

// Sends one UDP_SEGMENT super-datagram from A and counts the datagrams B
// receives: with USO negotiated it crosses the forwarder as a single frame.
std::size_t udp_gso_datagrams_received(const ForwardedPair& pair, std::size_t segment, std::size_t segments) {
  const sockaddr_in server = [] {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(5300);
    ::inet_pton(AF_INET, "10.77.2.2", &address.sin_addr);
    return address;
  }();
  const vnic::UniqueFd receiver = vnic::test::in_netns(pair.ns_b.name(), [&] {
    vnic::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    const timeval timeout{2, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&server), sizeof server) == 0);
    return fd;
  });
  vnic::test::in_netns(pair.ns_a.name(), [&] {
    const vnic::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    const int gso_size = static_cast<int>(segment);
    REQUIRE(::setsockopt(fd.get(), SOL_UDP, UDP_SEGMENT, &gso_size, sizeof gso_size) == 0);
    const std::vector<char> payload(segment * segments, 'u');
    REQUIRE(::sendto(fd.get(), payload.data(), payload.size(), 0, reinterpret_cast<const sockaddr*>(&server),
                     sizeof server) == static_cast<ssize_t>(payload.size()));
  });
  std::size_t received = 0;
  std::vector<char> buffer(65536);
  while (received < segments) {
    const ssize_t n = ::recv(receiver.get(), buffer.data(), buffer.size(), 0);
    if (n < 0) {
      break;  // timed out
    }
    CHECK(static_cast<std::size_t>(n) == segment);
    ++received;
  }
  return received;
}

std::string describe(const vnic::test::DirectionStats& stats) {
  return fmt::format("{} frames, {} GSO ({} USO), largest {} B, {} dropped, {} unwritten", stats.frames.load(),
                     stats.gso_frames.load(), stats.udp_gso_frames.load(), stats.largest_frame.load(),
                     stats.dropped.load(), stats.unwritten.load());
}

}  // namespace

TEST_CASE("a userspace forwarder joins two TAPs: ping, TCP, GSO super-frames", "[vnic][forwarder]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ForwardedPair pair(/*offload_a=*/true, /*offload_b=*/true);
  REQUIRE(pair.a.tap.offloads().has(vnic::Offload::tso4));

  check_ping(pair);
  const auto transfer = check_tcp_transfer(pair);
  const bool uso = pair.a.tap.offloads().has(vnic::Offload::uso4);
  if (uso) {
    CHECK(udp_gso_datagrams_received(pair, 1200, 10) == 10);
  }
  pair.forwarder.stop();
  INFO(pair.forwarder.failure());
  CHECK(pair.forwarder.failure().empty());

  const auto& sent = pair.forwarder.a_to_b();
  WARN(fmt::format("offloads {}: {:.2f} Gbit/s, {} MiB in {:.2f} s; A->B {}; B->A {}",
                   pair.a.tap.offloads().to_string(), transfer.gbit_per_second(), transfer.bytes_received >> 20,
                   transfer.seconds, describe(sent), describe(pair.forwarder.b_to_a())));
  CHECK(sent.gso_frames.load() > 0);
  CHECK(sent.largest_frame.load() > kMtu + kEthernetHeader);
  CHECK(sent.dropped.load() == 0);
  CHECK(pair.forwarder.b_to_a().dropped.load() == 0);
  if (uso) {
    CHECK(sent.udp_gso_frames.load() >= 1);
  } else {
    WARN("kernel refused USO; UDP segmentation offload not exercised");
  }
}

TEST_CASE("with offloads off the forwarder never sees a frame above the MTU", "[vnic][forwarder]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ForwardedPair pair(/*offload_a=*/false, /*offload_b=*/false);
  REQUIRE(pair.a.tap.offloads() == vnic::Offloads::none());

  check_ping(pair);
  const auto transfer = check_tcp_transfer(pair);
  pair.forwarder.stop();
  INFO(pair.forwarder.failure());
  CHECK(pair.forwarder.failure().empty());

  WARN(fmt::format("offloads none: {:.2f} Gbit/s, {} MiB in {:.2f} s; A->B {}; B->A {}", transfer.gbit_per_second(),
                   transfer.bytes_received >> 20, transfer.seconds, describe(pair.forwarder.a_to_b()),
                   describe(pair.forwarder.b_to_a())));
  for (const auto* stats : {&pair.forwarder.a_to_b(), &pair.forwarder.b_to_a()}) {
    CHECK(stats->frames.load() > 0);
    CHECK(stats->gso_frames.load() == 0);
    CHECK(stats->largest_frame.load() <= kMtu + kEthernetHeader);
  }
}

TEST_CASE("a TAP without offloads still takes GSO super-frames from a peer that has them", "[vnic][forwarder]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  // Nodes may be configured differently; the receiving kernel segments or
  // coalesces whatever the header describes.
  ForwardedPair pair(/*offload_a=*/true, /*offload_b=*/false);
  check_tcp_transfer(pair);
  pair.forwarder.stop();
  INFO(pair.forwarder.failure());
  CHECK(pair.forwarder.failure().empty());
  CHECK(pair.forwarder.a_to_b().gso_frames.load() > 0);
  CHECK(pair.forwarder.a_to_b().dropped.load() == 0);
  CHECK(pair.forwarder.b_to_a().largest_frame.load() <= kMtu + kEthernetHeader);
}
