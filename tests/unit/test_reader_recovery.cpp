// How fast the reader gets going again after storage faults: a run of damaged or lost blocks, a
// place on the volume that cannot be read, an outage. Each runs on the reader's own timeline
// (every read lands at the time it was made), so the figures are the reader's, not the machine's.
#include <catch2/catch.hpp>

#include <fstream>
#include <thread>

#include "../support/temp_file.h"
#include "blockxport/reader.h"
#include "transport_rig.h"

using namespace blockxport;
using namespace std::chrono;
using vnic_test::CheckingSink;
using vnic_test::MirrorRig;
using vnic_test::TempFile;

namespace {

constexpr Nanos kTornTimeout = milliseconds(100);
constexpr Nanos kTick = milliseconds(1);

ReaderOptions recovery_reader() {
  ReaderOptions o = MirrorRig::fast_reader();
  o.torn_timeout = kTornTimeout;  // vnicd's default
  o.max_interval = milliseconds(10);
  return o;
}

// The reader on a timeline of its own: each step delivers, polls, and lands every read at the
// step's time.
struct Timeline {
  MirrorRig& rig;
  CheckingSink& sink;
  TimePoint now = Clock::now();

  void step() {
    rig.reader->deliver(sink, now);
    rig.reader->poll(now);
    while (rig.engine->in_flight() > 0) rig.reap(milliseconds(5), now);
    rig.reader->deliver(sink, now);
  }
  // Steps until `done` holds (returns when it first did) or `limit` has passed.
  template <typename Done>
  std::optional<TimePoint> run_until(Done done, Nanos limit) {
    for (TimePoint end = now + limit; now < end; now += kTick) {
      step();
      if (done()) return now;
    }
    return std::nullopt;
  }
  // What the writer's state record says now, as read at this point of the timeline.
  void writer_record() {
    rig.reader->note_writer({rig.writer_epoch, rig.writer_first, rig.writer->durable_head(), to_ns(now), now});
  }
};

// `count` blocks of one frame each (indices first..first+count-1); returns the first's sequence.
uint64_t write_blocks(MirrorRig& rig, CheckingSink& sink, uint64_t first, size_t count) {
  uint64_t sequence = rig.writer->next_sequence();
  for (size_t i = 0; i < count; ++i) {
    rig.send_frames(first + i, 1, 500, sink);
    rig.drain_writer();
  }
  REQUIRE(rig.writer->next_sequence() == sequence + count);
  return sequence;
}

std::vector<uint64_t> indices(uint64_t from, uint64_t to) {
  std::vector<uint64_t> out;
  for (uint64_t i = from; i < to; ++i) out.push_back(i);
  return out;
}

}  // namespace

TEST_CASE("a run of damaged blocks is skipped about one torn_timeout per read-ahead window after the writer is known past it, not one per block",
          "[reader][recovery]") {
  MirrorRig rig(4096, 256, EngineKind::automatic, 4, recovery_reader());
  CheckingSink sink;
  Timeline t{rig, sink};
  rig.reader->attach(rig.writer_view(), t.now);
  // More blocks than the read-ahead window holds, so only the writer's record says where it is.
  const size_t burst = GENERATE(size_t{40}, size_t{200});
  uint64_t first = write_blocks(rig, sink, 0, 1);
  uint64_t bad = write_blocks(rig, sink, 1, burst);
  write_blocks(rig, sink, 1 + burst, 4);
  rig.mirror_range(first, rig.writer->next_sequence());
  for (uint64_t s = bad; s < bad + burst; ++s) rig.flip_bit_on_receive_side(s, 100);  // in its record

  REQUIRE(t.run_until([&] { return sink.indices.size() == 1; }, milliseconds(50)));
  t.run_until([] { return false; }, milliseconds(20));  // the reader meets the burst; nothing says the writer passed
  CHECK(rig.reader->stats().corrupt_blocks == 0);
  t.writer_record();
  TimePoint known = t.now;
  auto skipped = t.run_until([&] { return rig.reader->stats().corrupt_blocks == burst; }, seconds(3));
  REQUIRE(skipped);
  INFO("burst of " << burst << " skipped " << duration_cast<milliseconds>(*skipped - known).count()
                   << " ms after the writer was known past it");
  CHECK(*skipped - known >= kTornTimeout);
  // Each block also gets torn_timeout from the first read that found it bad (a reader far behind
  // must not skip what it has barely looked at), and read-ahead holds 32 blocks: a run goes one
  // window at a time, each about one torn_timeout, never one torn_timeout per block.
  const size_t windows = (burst + 31) / 32;
  CHECK(*skipped - known <= windows * (kTornTimeout + milliseconds(10)));
  // The valid blocks behind the burst come next, intact and in order; nothing else was skipped.
  REQUIRE(t.run_until([&] { return sink.indices.size() == 5; }, milliseconds(50)));
  std::vector<uint64_t> expected{0};
  for (uint64_t i = 1 + burst; i < 5 + burst; ++i) expected.push_back(i);
  CHECK(sink.indices == expected);
  CHECK(sink.corrupt == 0);
  CHECK(rig.reader->stats().corrupt_blocks == burst);
  CHECK(rig.reader->stats().missing_blocks == 0);
  CHECK(rig.reader->consumed() == rig.writer->next_sequence() - 1);
}

TEST_CASE("read-ahead goes on past damaged blocks, so a valid later block shows the writer passed them",
          "[reader][recovery]") {
  MirrorRig rig(4096, 256, EngineKind::automatic, 4, recovery_reader());
  CheckingSink sink;
  Timeline t{rig, sink};
  rig.reader->attach(rig.writer_view(), t.now);
  const size_t burst = 16;  // within the read-ahead window; no state record at all
  write_blocks(rig, sink, 0, 1);
  uint64_t bad = write_blocks(rig, sink, 1, burst);
  write_blocks(rig, sink, 1 + burst, 4);
  rig.mirror_range(1, rig.writer->next_sequence());
  for (uint64_t s = bad; s < bad + burst; ++s) rig.flip_bit_on_receive_side(s, 100);

  REQUIRE(t.run_until([&] { return sink.indices.size() == 1; }, milliseconds(50)));
  TimePoint met = t.now;
  auto done = t.run_until([&] { return sink.indices.size() == 5; }, seconds(3));
  REQUIRE(done);
  INFO("delivery resumed " << duration_cast<milliseconds>(*done - met).count() << " ms after the burst was met");
  // The window widens one block per round until it finds the valid block behind the burst.
  CHECK(*done - met <= kTornTimeout + milliseconds(40));
  CHECK(rig.reader->stats().corrupt_blocks == burst);
  CHECK(sink.indices == std::vector<uint64_t>{0, 17, 18, 19, 20});
  CHECK(sink.corrupt == 0);
}

TEST_CASE("blocks the mirror never wrote are skipped together as missing; late ones within the timeout are delivered",
          "[reader][recovery]") {
  MirrorRig rig(4096, 256, EngineKind::automatic, 4, recovery_reader());
  CheckingSink sink;
  Timeline t{rig, sink};
  rig.reader->attach(rig.writer_view(), t.now);
  const size_t burst = 24;  // within the read-ahead window, which finds the valid block behind it
  write_blocks(rig, sink, 0, 1);
  uint64_t held = write_blocks(rig, sink, 1, burst);
  write_blocks(rig, sink, 1 + burst, 4);
  rig.mirror(1);
  rig.mirror_range(held + burst, rig.writer->next_sequence());  // the burst is not there (yet)

  REQUIRE(t.run_until([&] { return sink.indices.size() == 1; }, milliseconds(50)));
  t.writer_record();
  TimePoint known = t.now;

  SECTION("late: the burst lands 80 ms after the writer was known past it, and is delivered whole") {
    t.run_until([] { return false; }, milliseconds(80));
    CHECK(rig.reader->stats().missing_blocks == 0);
    rig.mirror_range(held, held + burst);
    REQUIRE(t.run_until([&] { return sink.indices.size() == 5 + burst; }, milliseconds(100)));
    CHECK(sink.indices == indices(0, 5 + burst));
    CHECK(rig.reader->stats().missing_blocks == 0);
  }
  SECTION("lost: the burst never lands, and is skipped about one torn_timeout later") {
    auto skipped = t.run_until([&] { return rig.reader->stats().missing_blocks == burst; }, seconds(5));
    REQUIRE(skipped);
    // Nothing there may only be late: it takes a valid block behind the run, which read-ahead
    // finds in a few rounds, to start the timer.
    INFO("skipped " << duration_cast<milliseconds>(*skipped - known).count() << " ms after the record");
    CHECK(*skipped - known <= kTornTimeout + milliseconds(60));
    REQUIRE(t.run_until([&] { return sink.indices.size() == 5; }, milliseconds(50)));
    CHECK(sink.indices == std::vector<uint64_t>{0, 25, 26, 27, 28});
  }
  CHECK(sink.corrupt == 0);
  CHECK(rig.reader->stats().corrupt_blocks == 0);
}

namespace {

// A reader over a mirror whose engine fails every read that touches a chosen byte range, while
// one is set (the fault engine's bad_read_file, which it looks at every 5 ms).
struct BadReadRig {
  TempFile place{0, "bad-read"};
  FaultInjection faults = [this] {
    FaultInjection f;
    f.bad_read_file = place.path();
    return f;
  }();
  MirrorRig rig{4096, 256, EngineKind::automatic, 4, recovery_reader(), &faults};

  void fail_reads(uint64_t offset, uint64_t length) {
    std::ofstream(place.path()) << offset << " " << length << "\n";
    std::this_thread::sleep_for(milliseconds(10));
  }
  void heal() {
    std::ofstream(place.path(), std::ios::trunc);
    std::this_thread::sleep_for(milliseconds(10));
  }
};

}  // namespace

TEST_CASE("a block whose every read fails is skipped and counted once the writer is past it, never before",
          "[reader][recovery]") {
  BadReadRig bad_reads;
  MirrorRig& rig = bad_reads.rig;
  CheckingSink sink;
  Timeline t{rig, sink};
  rig.reader->attach(rig.writer_view(), t.now);
  write_blocks(rig, sink, 0, 1);
  uint64_t bad = write_blocks(rig, sink, 1, 1);
  rig.mirror_range(1, rig.writer->next_sequence());
  bad_reads.fail_reads(rig.superblock.block_offset(0, bad), rig.superblock.block_size);

  REQUIRE(t.run_until([&] { return sink.indices.size() == 1; }, milliseconds(50)));
  // The writer is not past it yet (as far as the reader can know): retried, never skipped.
  t.run_until([] { return false; }, seconds(1));
  CHECK(rig.reader->stats().read_errors > 0);
  CHECK(rig.reader->stats().missing_blocks == 0);
  CHECK(rig.reader->consumed() == bad - 1);

  write_blocks(rig, sink, 2, 4);
  rig.mirror_range(bad + 1, rig.writer->next_sequence());
  t.writer_record();
  TimePoint known = t.now;
  auto skipped = t.run_until([&] { return rig.reader->stats().missing_blocks == 1; }, seconds(3));
  REQUIRE(skipped);
  CHECK(*skipped - known <= kTornTimeout + milliseconds(20));
  CHECK(rig.reader->stats().unreadable_blocks == 1);
  REQUIRE(t.run_until([&] { return sink.indices.size() == 5; }, milliseconds(50)));
  CHECK(sink.indices == std::vector<uint64_t>{0, 2, 3, 4, 5});
  CHECK(sink.corrupt == 0);
  CHECK(rig.reader->stats().corrupt_blocks == 0);
}

TEST_CASE("while every read fails (an outage), nothing is skipped, however long it lasts", "[reader][recovery]") {
  BadReadRig bad_reads;
  MirrorRig& rig = bad_reads.rig;
  CheckingSink sink;
  Timeline t{rig, sink};
  rig.reader->attach(rig.writer_view(), t.now);
  write_blocks(rig, sink, 0, 1);
  rig.mirror(1);
  REQUIRE(t.run_until([&] { return sink.indices.size() == 1; }, milliseconds(50)));

  bad_reads.fail_reads(0, uint64_t{1} << 40);
  write_blocks(rig, sink, 1, 10);
  rig.mirror_range(2, rig.writer->next_sequence());
  t.writer_record();
  t.run_until([] { return false; }, seconds(1));
  CHECK(rig.reader->stats().read_errors > 0);
  CHECK(rig.reader->stats().missing_blocks == 0);

  bad_reads.heal();
  auto back = t.run_until([&] { return sink.indices.size() == 11; }, milliseconds(100));
  CAPTURE(sink.indices, rig.reader->stats().read_errors, rig.reader->stats().reads, rig.reader->next_sequence(), rig.reader->window(), rig.reader->stats().torn_rereads, rig.reader->stats().empty_polls);
  REQUIRE(back);
  CHECK(sink.indices == indices(0, 11));
  CHECK(rig.reader->stats().missing_blocks == 0);
  CHECK(rig.reader->stats().corrupt_blocks == 0);
}
