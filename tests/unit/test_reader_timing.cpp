// The reader's sense of time: how old a block is (the writer's clock, estimated without ever
// comparing two hosts' clocks) and when it polls.
#include <catch2/catch.hpp>

#include <random>
#include <thread>

#include "blockxport/reader.h"
#include "transport_rig.h"

using namespace blockxport;
using namespace std::chrono;
using vnic_test::CheckingSink;
using vnic_test::MirrorRig;

namespace {

TimePoint at_ns(int64_t ns) { return TimePoint{Nanos{ns}}; }

}  // namespace

TEST_CASE("the writer's clock is estimated from the smallest delay seen and never runs ahead of it", "[reader]") {
  // The writer's clock reads ours minus 7 s; each timestamp reaches us 20 us to 9 ms late
  // (one every 10 ms, so they arrive in order, as they do in a reader).
  const int64_t offset = 7'000'000'000;
  std::mt19937_64 random(42);
  std::uniform_int_distribution<int64_t> delay(20'000, 9'000'000);
  WriterClock clock;
  CHECK_FALSE(clock.writer_now(at_ns(offset)));
  int64_t smallest = INT64_MAX;
  for (int64_t t = 10'000'000'000; t < 11'000'000'000; t += 10'000'000) {
    int64_t d = delay(random);
    smallest = std::min(smallest, d);
    clock.observe(static_cast<uint64_t>(t - offset), at_ns(t + d));
    int64_t now = t + d;
    auto estimate = clock.writer_now(at_ns(now));
    REQUIRE(estimate);
    int64_t truth = now - offset;
    // Never ahead of the writer (ages err young, never old) ...
    CHECK(static_cast<int64_t>(*estimate) <= truth);
    // ... and behind it by no more than the smallest delay seen (plus the allowed drift slip).
    CHECK(truth - static_cast<int64_t>(*estimate) <= smallest + 100'000);  // 100 ppm of 1 s
  }
}

TEST_CASE("the clock estimate slips late at the allowed drift when nothing better is seen", "[reader]") {
  WriterClock clock;
  clock.observe(1'000'000'000, at_ns(2'000'000'000));  // offset 1 s, no delay
  // 10.005 s later a timestamp arrives 5 ms late: the bound has slipped 1.0005 ms (100 ppm), so
  // the late one does not replace it, and the estimate is that much behind the truth.
  clock.observe(11'000'000'000, at_ns(12'005'000'000));
  auto estimate = clock.writer_now(at_ns(12'005'000'000));
  REQUIRE(estimate);
  CHECK(*estimate == 11'005'000'000 - 1'000'500);
  clock.reset();
  CHECK_FALSE(clock.writer_now(at_ns(12'005'000'000)));
}

TEST_CASE("a block held back by the mirror is aged by the writer's clock even when no state record is fresh",
          "[reader]") {
  auto options = MirrorRig::fast_reader();
  options.max_age = milliseconds(300);
  MirrorRig rig(4096, 64, EngineKind::automatic, 4, options);
  CheckingSink sink;
  rig.reader->attach(rig.writer_view(), Clock::now());
  // Fresh traffic first: its timestamps pin the writer's clock.
  rig.send_frames(0, 2, 500, sink);
  rig.drain_writer();
  rig.mirror_range(1, rig.writer->next_sequence());
  rig.run_reader(sink, [&] { return sink.indices.size() == 2; });
  // Then blocks the mirror holds for 500 ms, with no state record read since the attach: only
  // the estimate from block timestamps can tell they are old.
  uint64_t before = rig.writer->next_sequence();
  rig.send_frames(10, 3, 500, sink);
  rig.drain_writer();
  std::this_thread::sleep_for(milliseconds(500));
  rig.mirror_range(before, rig.writer->next_sequence());
  rig.run_reader(sink, [&] { return rig.reader->stats().too_old_blocks > 0; });
  CHECK(rig.reader->stats().too_old_frames == 3);
  CHECK(sink.indices == std::vector<uint64_t>{0, 1});
  // Every delivered block's age was measured, and none was old.
  CHECK(rig.reader->stats().delivery_age.count() == 1);
  CHECK(rig.reader->stats().delivery_age.max() < 300'000'000);
}

TEST_CASE("sending restarts the reader's back-off: the reply is polled for soon, not after an idle interval",
          "[reader]") {
  auto options = MirrorRig::fast_reader();
  options.spin_window = Nanos{0};
  options.min_interval = microseconds(50);
  options.max_interval = milliseconds(20);
  MirrorRig rig(4096, 64, EngineKind::automatic, 4, options);
  CheckingSink sink;
  auto now = Clock::now();
  rig.reader->attach(rig.writer_view(), now);
  // Idle polls on the reader's own timeline (each at the time it asked for), so that how long the
  // real reads take on a busy machine does not move the schedule: 50 us doubling to 20 ms takes
  // nine misses.
  for (int miss = 0; miss < 12; ++miss) {
    rig.reader->poll(now);
    while (rig.engine->in_flight() > 0) rig.reap(milliseconds(5));
    rig.reader->deliver(sink, now);  // the miss schedules the next poll
    auto idle_next = rig.reader->next_poll();
    REQUIRE(idle_next);
    if (miss + 1 < 12) now = *idle_next;
  }
  auto idle_next = rig.reader->next_poll();
  REQUIRE(idle_next);
  CHECK(*idle_next - now == options.max_interval);  // backed off to the idle interval
  rig.reader->expect_reply(now);
  auto next = rig.reader->next_poll();
  REQUIRE(next);
  CHECK(*next == now + options.min_interval);
  CHECK(sink.indices.empty());
}
