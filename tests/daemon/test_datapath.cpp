// The daemon's data path without root: two nodes, each a Datapath over an in-memory device and a
// real Link, on two volume files where A's send volume is B's receive volume and the other way
// round (the file plays the storage mirror), as the two-node lab does with TAPs.
#include <catch2/catch.hpp>

#include <poll.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "blockxport/link.h"
#include "blockxport/volume_format.h"
#include "daemon/datapath.h"
#include "tests/support/temp_file.h"
#include "vnic/memory_frame_device.h"
#include "vnic/vnet_header.h"

using blockxport::Clock;
using std::chrono::milliseconds;
using Bytes = std::vector<std::byte>;

namespace {

constexpr auto kHeartbeat = milliseconds(20);
constexpr auto kDeadAfter = milliseconds(600);

void format_file(const vnic_test::TempFile& file) {
  blockxport::FormatOptions f;
  f.block_size = 4096;
  blockxport::format_volume(file.path(), f);
}

// A frame as a TAP hands it over: a virtio-net header, then an Ethernet frame whose bytes say
// which frame it is, so a frame delivered out of order, twice or damaged does not compare equal.
Bytes numbered_frame(uint32_t index) {
  size_t ethernet = 60 + (index * 37) % 1455;  // 60 to 1514 bytes
  Bytes frame(vnic::kVnetHeaderBytes + ethernet);
  for (size_t i = vnic::kVnetHeaderBytes; i < frame.size(); ++i)
    frame[i] = std::byte(static_cast<uint8_t>(index * 131 + i));
  std::memcpy(frame.data() + vnic::kVnetHeaderBytes, &index, sizeof(index));
  return frame;
}

struct Node {
  Node(const std::string& name, const std::string& send, const std::string& recv) : device(name) {
    blockxport::LinkOptions o;
    o.send_path = send;
    o.recv_path = recv;
    o.heartbeat_interval = kHeartbeat;
    o.dead_after = kDeadAfter;
    o.reader.max_interval = std::chrono::microseconds(200);
    link = blockxport::Link::open(o);
    datapath = std::make_unique<vnicd::Datapath>(device, *link);
    datapath->set_admin_up(true);
  }

  // What the daemon's loop does in one round, with the device's fd polled instead of epoll.
  void turn() {
    if (!datapath) return;  // stopped
    pollfd p{device.fd(), POLLIN, 0};
    if (::poll(&p, 1, 0) == 1) datapath->on_device_readable();
    datapath->turn(Clock::now());
    datapath->follow_peer();
  }

  // A crash: the link goes without recording a stop, its record simply stops moving.
  void crash() {
    datapath.reset();
    link.reset();
  }
  void stop_cleanly() {
    datapath->stop(milliseconds(500));
    datapath.reset();
    link.reset();
  }

  vnic::MemoryFrameDevice device;
  std::unique_ptr<blockxport::Link> link;
  std::unique_ptr<vnicd::Datapath> datapath;
};

struct Pair {
  Pair() : a_file(4 << 20, "dp-a"), b_file(4 << 20, "dp-b") {
    format_file(a_file);
    format_file(b_file);
    a = std::make_unique<Node>("mem-a", a_file.path(), b_file.path());
    b = std::make_unique<Node>("mem-b", b_file.path(), a_file.path());
  }

  // Runs both nodes until `done` or the time is up; returns whether `done` came true.
  template <typename Done>
  bool run_until(Done done, milliseconds limit = milliseconds(5000)) {
    auto deadline = Clock::now() + limit;
    while (!done()) {
      if (Clock::now() > deadline) return false;
      a->turn();
      b->turn();
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return true;
  }

  bool both_carriers_on() const { return a->device.carrier() && b->device.carrier(); }

  vnic_test::TempFile a_file, b_file;
  std::unique_ptr<Node> a, b;
};

}  // namespace

TEST_CASE("frames injected at one node's device come out of the other's, in order and intact", "[daemon][datapath]") {
  Pair pair;
  REQUIRE(pair.run_until([&] { return pair.both_carriers_on(); }));

  constexpr uint32_t kFrames = 2000;  // more than a device batch and many blocks
  for (uint32_t i = 0; i < kFrames; ++i) pair.a->device.inject(numbered_frame(i));
  pair.b->device.inject(numbered_frame(7777));  // and one the other way
  REQUIRE(
      pair.run_until([&] { return pair.b->device.written_count() >= kFrames && pair.a->device.written_count() >= 1; }));
  pair.run_until([] { return false; }, milliseconds(50));  // nothing more, nothing twice

  auto at_b = pair.b->device.take_written();
  REQUIRE(at_b.size() == kFrames);
  for (uint32_t i = 0; i < kFrames; ++i) {
    INFO("frame " << i);
    REQUIRE(at_b[i] == numbered_frame(i));
  }
  auto at_a = pair.a->device.take_written();
  REQUIRE(at_a.size() == 1);
  CHECK(at_a[0] == numbered_frame(7777));
  CHECK(pair.a->device.queued() == 0);
  CHECK(pair.a->device.stats().rx_frames == kFrames);
  CHECK(pair.a->link->writer().stats().frames_sent == kFrames);
  CHECK(pair.b->datapath->counters().rx_dropped_admin_down == 0);
}

TEST_CASE("the carrier follows the peer: on while both run, off when the peer goes", "[daemon][datapath]") {
  Pair pair;
  CHECK_FALSE(pair.a->device.carrier());
  REQUIRE(pair.run_until([&] { return pair.both_carriers_on(); }));
  CHECK(pair.a->datapath->carrier());
  CHECK(pair.b->datapath->carrier());
  CHECK(pair.a->datapath->counters().carrier_changes == 1);
  CHECK(pair.a->device.carrier_sets() == 1);

  SECTION("a crashed peer: off within dead_after") {
    pair.b->crash();
    auto gone = Clock::now();
    REQUIRE(pair.run_until([&] { return !pair.a->device.carrier(); }, milliseconds(5000)));
    auto took = Clock::now() - gone;
    CHECK(pair.a->link->peer().state() == blockxport::PeerState::dead);
    // dead_after counts from the last heartbeat seen, which is at most one interval old; the rest
    // is a sane margin for a loaded (or sanitized) test machine, far below a second dead_after.
    CHECK(took <= kDeadAfter + kHeartbeat + milliseconds(400));
    CHECK(took >= kDeadAfter / 2);  // and not on a heartbeat or two gone missing
    CHECK(pair.a->datapath->counters().carrier_changes == 2);
  }
  SECTION("a clean stop: off at once, the peer seen stopped") {
    pair.b->stop_cleanly();
    CHECK_FALSE(pair.b->device.carrier());
    auto gone = Clock::now();
    REQUIRE(pair.run_until([&] { return !pair.a->device.carrier(); }, milliseconds(5000)));
    CHECK(pair.a->link->peer().state() == blockxport::PeerState::stopped);
    // The next read of the peer's record, well before dead_after.
    CHECK(Clock::now() - gone < kDeadAfter / 2);
  }
}

TEST_CASE("frames from the peer while the interface is admin down are dropped and counted", "[daemon][datapath]") {
  Pair pair;
  REQUIRE(pair.run_until([&] { return pair.both_carriers_on(); }));
  pair.b->datapath->set_admin_up(false);
  for (uint32_t i = 0; i < 20; ++i) pair.a->device.inject(numbered_frame(i));
  REQUIRE(pair.run_until([&] { return pair.b->datapath->counters().rx_dropped_admin_down >= 20; }));
  pair.run_until([] { return false; }, milliseconds(50));
  CHECK(pair.b->datapath->counters().rx_dropped_admin_down == 20);
  CHECK(pair.b->device.written_count() == 0);

  pair.b->datapath->set_admin_up(true);  // up again: the next frames go through, the old do not
  for (uint32_t i = 20; i < 25; ++i) pair.a->device.inject(numbered_frame(i));
  REQUIRE(pair.run_until([&] { return pair.b->device.written_count() >= 5; }));
  auto at_b = pair.b->device.take_written();
  REQUIRE(at_b.size() == 5);
  CHECK(at_b.front() == numbered_frame(20));
  CHECK(at_b.back() == numbered_frame(24));
  CHECK(pair.b->datapath->counters().rx_dropped_admin_down == 20);
}
