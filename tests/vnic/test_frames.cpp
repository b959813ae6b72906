#include "vnic/frame_batch.h"
#include "vnic/tap_device.h"

#include "tests/vnic/support/netns.h"
#include "tests/vnic/support/packets.h"
#include "tests/vnic/support/tap_fixture.h"

#include <poll.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using vnic::Frame;
using vnic::FrameBatch;
using vnic::TapOptions;
using vnic::VnetHeader;
using vnic::test::ipv4;
using vnic::test::ScopedNetns;

namespace {

const vnic::MacAddress kPeerMac = vnic::derive_local_mac("test peer");

// Reads batches as they become ready and hands every frame to `done` until it
// returns true; false if that does not happen within the timeout.
template <typename Done>
bool read_until(vnic::TapDevice& tap, FrameBatch& batch, Done&& done, std::chrono::milliseconds timeout = 3s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    batch.clear();
    tap.read_batch(batch);
    for (const Frame& frame : batch.frames()) {
      if (done(frame)) {
        return true;
      }
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd readable{tap.fd(), POLLIN, 0};
    ::poll(&readable, 1, static_cast<int>(left.count()));
  }
}

void append_frame(FrameBatch& batch, const std::vector<std::byte>& ethernet, const VnetHeader& header = {}) {
  batch.append().assign(header, ethernet);
}

// A TAP at 10.77.1.1/24 that already knows the peer 10.77.1.2 from its ARP request.
struct ArpedTap {
  ScopedNetns ns;
  vnic::test::NamespacedTap nic;
  vnic::MacAddress tap_mac;

  explicit ArpedTap(const std::string& name) : nic(vnic::test::open_tap_in(ns.name(), TapOptions{.name = name})) {
    vnic::test::bring_up(nic, "10.77.1.1/24");
    FrameBatch out(1);
    append_frame(out, vnic::test::arp_request(kPeerMac, ipv4("10.77.1.2"), ipv4("10.77.1.1")));
    REQUIRE(nic.tap.write_batch(out).written == 1);
    FrameBatch in(16);
    const bool answered = read_until(nic.tap, in, [&](const Frame& frame) {
      const auto reply = vnic::test::parse_arp_reply(frame.ethernet());
      if (!reply || reply->target_ip != ipv4("10.77.1.2")) {
        return false;
      }
      tap_mac = reply->sender_mac;
      return true;
    });
    REQUIRE(answered);
  }
};

}  // namespace

TEST_CASE("the kernel answers an ARP request written into the TAP", "[vnic][frames]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  auto nic = vnic::test::open_tap_in(ns.name(), TapOptions{.name = "vnicarp0"});
  vnic::test::bring_up(nic, "10.77.1.1/24");

  FrameBatch out(1);
  append_frame(out, vnic::test::arp_request(kPeerMac, ipv4("10.77.1.2"), ipv4("10.77.1.1")));
  const vnic::WriteResult written = nic.tap.write_batch(out);
  CHECK(written.written == 1);
  CHECK(written.dropped == 0);

  FrameBatch in(16);
  std::optional<vnic::test::ArpReply> reply;
  VnetHeader reply_header;
  CHECK(read_until(nic.tap, in, [&](const Frame& frame) {
    reply = vnic::test::parse_arp_reply(frame.ethernet());
    reply_header = frame.vnet_header();
    return reply.has_value();
  }));
  REQUIRE(reply);
  CHECK(reply->sender_ip == ipv4("10.77.1.1"));
  CHECK(reply->sender_mac == nic.link.mac());
  CHECK(reply->target_ip == ipv4("10.77.1.2"));
  CHECK(reply->target_mac == kPeerMac);
  CHECK_FALSE(reply_header.is_gso());
  CHECK(nic.tap.stats().tx_frames == 1);
  CHECK(nic.tap.stats().rx_frames >= 1);
}

TEST_CASE("ICMP echo requests written as a batch come back as a batch of replies", "[vnic][frames]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ArpedTap fixture("vnicicmp0");
  vnic::TapDevice& tap = fixture.nic.tap;

  constexpr std::uint16_t kRequests = 8;
  FrameBatch out(kRequests);
  for (std::uint16_t seq = 1; seq <= kRequests; ++seq) {
    append_frame(out, vnic::test::icmp_echo_request(kPeerMac, fixture.tap_mac, ipv4("10.77.1.2"), ipv4("10.77.1.1"),
                                                    0x7777, seq, 56));
  }
  CHECK(tap.write_batch(out).written == kRequests);

  // Let every reply queue up, then take them in one call.
  pollfd readable{tap.fd(), POLLIN, 0};
  REQUIRE(::poll(&readable, 1, 3000) == 1);
  std::this_thread::sleep_for(200ms);
  FrameBatch in(32);
  const std::size_t count = tap.read_batch(in);
  CHECK(count == in.size());
  CHECK(count >= kRequests);

  std::set<std::uint16_t> answered;
  for (const Frame& frame : in.frames()) {
    if (const auto reply = vnic::test::parse_icmp_echo_reply(frame.ethernet())) {
      CHECK(reply->src_ip == ipv4("10.77.1.1"));
      CHECK(reply->dst_ip == ipv4("10.77.1.2"));
      CHECK(reply->id == 0x7777);
      CHECK(reply->checksums_ok);
      answered.insert(reply->sequence);
    }
  }
  CHECK(answered.size() == kRequests);
  // Nothing more was pending: a second read returns nothing and does not block.
  FrameBatch again(4);
  const auto before = std::chrono::steady_clock::now();
  tap.read_batch(again);
  CHECK(std::chrono::steady_clock::now() - before < 100ms);
}

TEST_CASE("frames the kernel rejects are counted as dropped, the rest still go", "[vnic][frames]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ArpedTap fixture("vnicdrop0");
  vnic::TapDevice& tap = fixture.nic.tap;
  const auto echo =
      vnic::test::icmp_echo_request(kPeerMac, fixture.tap_mac, ipv4("10.77.1.2"), ipv4("10.77.1.1"), 0x5555, 42, 32);
  FrameBatch out(4);
  VnetHeader lying;  // claims more header bytes than the frame holds
  lying.hdr_len = 4000;
  append_frame(out, echo, lying);
  append_frame(out, std::vector<std::byte>(10));  // shorter than an Ethernet header
  VnetHeader unknown_gso;
  unknown_gso.gso_type = 0x7f;
  unknown_gso.gso_size = 100;
  append_frame(out, echo, unknown_gso);
  append_frame(out, echo);

  const vnic::WriteResult result = tap.write_batch(out);
  CHECK(result.dropped == 3);
  CHECK(result.written == 1);
  CHECK(result.consumed() == 4);
  CHECK(tap.stats().tx_dropped == 3);

  FrameBatch in(16);
  int replies = 0;
  read_until(
      tap, in,
      [&](const Frame& frame) {
        replies += vnic::test::parse_icmp_echo_reply(frame.ethernet()).has_value() ? 1 : 0;
        return false;  // keep reading: a second reply would be a bug
      },
      500ms);
  CHECK(replies == 1);
}

TEST_CASE("frames written while the link is admin down are dropped, not fatal", "[vnic][frames]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ScopedNetns ns;
  auto nic = vnic::test::open_tap_in(ns.name(), TapOptions{.name = "vnicdown0"});
  FrameBatch out(2);
  append_frame(out, vnic::test::arp_request(kPeerMac, ipv4("10.77.1.2"), ipv4("10.77.1.1")));
  append_frame(out, vnic::test::arp_request(kPeerMac, ipv4("10.77.1.2"), ipv4("10.77.1.1")));
  // Like a NIC that is switched off: the kernel refuses (EIO) and we count.
  const vnic::WriteResult result = nic.tap.write_batch(out);
  CHECK(result.dropped == 2);
  CHECK(result.written == 0);
  CHECK(nic.tap.stats().tx_dropped == 2);
}

TEST_CASE("a frame larger than the slot is counted as truncated, never delivered cut short", "[vnic][frames]") {
  VNIC_REQUIRE_PRIVILEGES_OR_SKIP();
  ArpedTap fixture("vnictrunc0");
  vnic::TapDevice& tap = fixture.nic.tap;
  FrameBatch out(1);
  append_frame(out, vnic::test::icmp_echo_request(kPeerMac, fixture.tap_mac, ipv4("10.77.1.2"), ipv4("10.77.1.1"),
                                                  0x6666, 1, 1000));
  REQUIRE(tap.write_batch(out).written == 1);

  FrameBatch small(8, vnic::kVnetHeaderBytes + 200);
  bool saw_reply = false;
  read_until(
      tap, small,
      [&](const Frame& frame) {
        CHECK(frame.length() <= small.slot_bytes());
        saw_reply |= vnic::test::parse_icmp_echo_reply(frame.ethernet()).has_value();
        return false;
      },
      500ms);
  CHECK_FALSE(saw_reply);
  CHECK(tap.stats().rx_truncated >= 1);
}
