// The liveness rule on its own, on a clock the test moves: death needs a read issued past the
// deadline, a read stalled across it proves nothing, and a volume that answers nothing at all
// makes the peer dead after twice dead_after.
#include <catch2/catch.hpp>

#include "blockxport/peer_monitor.h"

using namespace blockxport;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kDeadAfter{1000};

StateRecord running(uint64_t heartbeat) {
  StateRecord r;
  r.status = WriterStatus::running;
  r.epoch = 7;
  r.heartbeat = heartbeat;
  return r;
}

TimePoint at(int64_t ms) { return TimePoint{} + milliseconds(10'000 + ms); }

// A monitor that has seen the peer's heartbeat move at t = 0 (the read that saw it completed then).
PeerMonitor alive_at_zero() {
  PeerMonitor m(kDeadAfter);
  m.observe(running(1), at(-200), at(-190));
  m.observe(running(2), at(-10), at(0));
  REQUIRE(m.state() == PeerState::alive);
  return m;
}

}  // namespace

TEST_CASE("a read issued dead_after past the last change that shows none makes the peer dead", "[peer_monitor]") {
  PeerMonitor m = alive_at_zero();
  CHECK_FALSE(m.observe(running(2), at(500), at(505)));
  CHECK(m.state() == PeerState::alive);
  REQUIRE(m.verdict_due() == at(1000));
  CHECK(m.observe(running(2), at(1000), at(1003)));
  CHECK(m.state() == PeerState::dead);
  CHECK(m.since() == at(1003));
  CHECK_FALSE(m.verdict_due());
  SECTION("and alive again when its record moves") {
    CHECK(m.observe(running(3), at(1100), at(1102)));
    CHECK(m.state() == PeerState::alive);
  }
}

TEST_CASE("a read issued before the deadline and stalled across it does not make the peer dead", "[peer_monitor]") {
  PeerMonitor m = alive_at_zero();
  uint64_t transitions = m.transitions();
  // The volume stalls 1.4 s behind writeback: time passes with the read in flight.
  CHECK_FALSE(m.tick(at(1500)));
  CHECK(m.state() == PeerState::alive);
  SECTION("it shows the heartbeat moved: alive, no flap") {
    CHECK_FALSE(m.observe(running(3), at(100), at(1500)));
    CHECK(m.state() == PeerState::alive);
    CHECK(m.transitions() == transitions);
  }
  SECTION("it shows the record as it was when it was served: still no verdict") {
    CHECK_FALSE(m.observe(running(2), at(100), at(1500)));
    CHECK(m.state() == PeerState::alive);
    // The next read, issued after the deadline, decides.
    CHECK(m.observe(running(2), at(1501), at(1510)));
    CHECK(m.state() == PeerState::dead);
  }
  SECTION("it failed: no news, not evidence") {
    CHECK_FALSE(m.no_news(at(100), at(1500)));
    CHECK(m.state() == PeerState::alive);
  }
}

TEST_CASE("reads issued past the deadline that fail or bring a damaged record make the peer dead", "[peer_monitor]") {
  PeerMonitor m = alive_at_zero();
  CHECK_FALSE(m.no_news(at(900), at(905)));
  CHECK(m.no_news(at(1000), at(1004)));
  CHECK(m.state() == PeerState::dead);
}

TEST_CASE("a volume that answers no read for twice dead_after makes the peer dead by time alone", "[peer_monitor]") {
  PeerMonitor m = alive_at_zero();
  CHECK_FALSE(m.tick(at(1999)));
  CHECK(m.tick(at(2000)));
  CHECK(m.state() == PeerState::dead);
  CHECK(m.since() == at(2000));
}

TEST_CASE("a record that never moved is unknown, then dead on the same evidence", "[peer_monitor]") {
  PeerMonitor m(kDeadAfter);
  m.observe(std::nullopt, at(-10), at(0));  // formatted volume, nothing written yet
  CHECK(m.state() == PeerState::unknown);
  CHECK_FALSE(m.verdict_due());
  m.observe(running(5), at(10), at(20));  // a record left by someone: one sample proves nothing
  CHECK(m.state() == PeerState::unknown);
  CHECK_FALSE(m.observe(running(5), at(500), at(510)));
  CHECK(m.observe(running(5), at(1020), at(1030)));
  CHECK(m.state() == PeerState::dead);
}

TEST_CASE("a clean stop is seen at once, and a stopped peer is not judged dead", "[peer_monitor]") {
  PeerMonitor m = alive_at_zero();
  StateRecord stop = running(3);
  stop.status = WriterStatus::clean_stop;
  CHECK(m.observe(stop, at(100), at(102)));
  CHECK(m.state() == PeerState::stopped);
  CHECK_FALSE(m.verdict_due());
  CHECK_FALSE(m.tick(at(5000)));
  CHECK_FALSE(m.observe(stop, at(5000), at(5001)));
  CHECK(m.state() == PeerState::stopped);
}
