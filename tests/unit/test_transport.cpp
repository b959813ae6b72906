// The writer and the reader over real files, with the test as the storage mirror between them.
#include <catch2/catch.hpp>

#include <random>
#include <thread>

#include "transport_rig.h"

using namespace blockxport;
using namespace vnic_test;
using std::chrono::milliseconds;

namespace {

// Sends `count` frames, lets every write finish, mirrors what was written, keeps flow control fed.
uint64_t send_and_mirror(MirrorRig& rig, CheckingSink& sink, uint64_t first_index, size_t count, size_t size) {
  uint64_t before = rig.writer->next_sequence();
  rig.send_frames(first_index, count, size, sink);
  rig.drain_writer();
  rig.mirror_range(before, rig.writer->next_sequence());
  return rig.writer->next_sequence() - before;
}

}  // namespace

TEST_CASE("frames cross the mirror intact and in order over many ring laps, on every engine", "[transport]") {
  auto engine = GENERATE(EngineKind::io_uring, EngineKind::libaio, EngineKind::sync);
  DYNAMIC_SECTION("engine " << engine_kind_name(engine)) {
    MirrorRig rig(4096, 16, engine);
    CheckingSink sink;
    rig.reader->attach(rig.writer_view(), Clock::now());
    std::mt19937_64 rng(1);
    uint64_t index = 0;
    for (int round = 0; round < 120; ++round) {
      // At most 11 blocks a round: the writer must never be held by the ring (16 blocks) here.
      size_t count = 1 + rng() % 10;
      size_t size = 1 + rng() % 4500;
      rig.writer->set_reader_progress(rig.reader->consumed(), true);
      send_and_mirror(rig, sink, index, count, size);
      index += count;
      rig.run_reader(sink, [&] { return sink.indices.size() + sink.corrupt >= index; });
      REQUIRE(sink.indices.size() == index);
    }
    CHECK(sink.corrupt == 0);
    CHECK(sink.in_order());
    CHECK(rig.writer->next_sequence() > 16 * 20);  // twenty laps at least
    CHECK(rig.writer->stats().frames_dropped_ring_full == 0);
    CHECK(rig.reader->stats().corrupt_blocks == 0);
  }
}

TEST_CASE("a later block visible before an earlier one waits for it", "[transport]") {
  MirrorRig rig(4096, 16);
  CheckingSink sink;
  rig.reader->attach(rig.writer_view(), Clock::now());
  for (uint64_t i = 0; i < 3; ++i) {
    rig.send_frames(i, 1, 100, sink);  // each frame its own block: the link is idle each time
    rig.drain_writer();
  }
  REQUIRE(rig.writer->next_sequence() == 4);
  rig.mirror(3);
  rig.mirror(2);
  rig.run_reader_for(sink, milliseconds(60));
  CHECK(sink.indices.empty());
  rig.mirror(1);
  rig.run_reader(sink, [&] { return sink.indices.size() == 3; });
  CHECK(sink.indices == std::vector<uint64_t>{0, 1, 2});
  CHECK(rig.reader->stats().missing_blocks == 0);
}

TEST_CASE("a torn block is read again until it is whole", "[transport]") {
  auto options = MirrorRig::fast_reader();
  options.torn_timeout = std::chrono::seconds(30);  // never gives up within this test
  MirrorRig rig(65536, 16, EngineKind::automatic, 4, options);
  CheckingSink sink;
  rig.reader->attach(rig.writer_view(), Clock::now());
  rig.send_frames(0, 1, 60000, sink);
  rig.drain_writer();
  uint32_t lbs = rig.recv->logical_block_size();
  rig.mirror(1, 8192 / lbs);  // the first 8 KiB arrived, the rest is still the old lap (zeros)
  rig.run_reader_for(sink, milliseconds(60));
  CHECK(sink.indices.empty());
  CHECK(rig.reader->stats().torn_rereads > 0);
  rig.mirror(1);
  rig.run_reader(sink, [&] { return !sink.indices.empty(); });
  CHECK(sink.indices == std::vector<uint64_t>{0});
  CHECK(rig.reader->stats().corrupt_blocks == 0);
}

TEST_CASE("a block that never becomes valid is skipped and counted once the writer is past it", "[transport]") {
  MirrorRig rig(4096, 16);
  CheckingSink sink;
  rig.reader->attach(rig.writer_view(), Clock::now());
  rig.send_frames(0, 1, 1000, sink);
  rig.drain_writer();
  rig.send_frames(1, 1, 1000, sink);
  rig.drain_writer();
  SECTION("torn for good") { rig.mirror(1, 1); }
  SECTION("a bit flipped on the way") {
    rig.mirror(1);
    rig.flip_bit_on_receive_side(1, 700);
  }
  rig.mirror(2);
  rig.reader->note_writer(rig.writer_view());  // its state record: head is past sequence 1
  rig.run_reader(sink, [&] { return !sink.indices.empty(); });
  CHECK(sink.indices == std::vector<uint64_t>{1});
  CHECK(sink.corrupt == 0);
  CHECK(rig.reader->stats().corrupt_blocks == 1);
}

TEST_CASE("a restarted writer's new epoch is followed from where it begins", "[transport]") {
  MirrorRig rig(4096, 256);
  CheckingSink sink;
  rig.reader->attach(rig.writer_view(), Clock::now());
  send_and_mirror(rig, sink, 0, 10, 500);
  rig.run_reader(sink, [&] { return sink.indices.size() == 10; });
  REQUIRE(sink.indices.size() == 10);

  uint64_t resume = rig.writer->next_sequence() + 64;  // the gap a crashed writer leaves
  rig.start_writer(0x2222, resume);
  rig.reader->note_writer(rig.writer_view());
  send_and_mirror(rig, sink, 10, 10, 500);
  rig.run_reader(sink, [&] { return sink.indices.size() == 20; });
  CHECK(sink.indices.size() == 20);
  CHECK(sink.in_order());
  CHECK(rig.reader->epoch() == 0x2222);
  CHECK(rig.reader->stats().restart_skipped_blocks == 64);
  CHECK(rig.reader->stats().epoch_changes == 1);
}

TEST_CASE("a block of a dead epoch is never delivered after the writer restarted", "[transport]") {
  MirrorRig rig(4096, 64);
  CheckingSink sink;
  rig.reader->attach(rig.writer_view(), Clock::now());
  // The old writer wrote sequence 1, which the mirror has not carried yet when the new writer,
  // starting at sequence 1 too (a wiped state record), takes over.
  rig.send_frames(0, 1, 300, sink);
  rig.drain_writer();
  rig.mirror(1);
  rig.start_writer(0x3333, 1);
  // The reader hears of the new epoch before it reads the old block.
  WriterView view = rig.writer_view();
  rig.reader->attach(view, Clock::now() - milliseconds(1));
  rig.reader->note_writer(view);
  rig.run_reader_for(sink, milliseconds(40));
  CHECK(sink.indices.empty());
  CHECK(rig.reader->stats().stale_epoch_blocks > 0);
}

TEST_CASE("a lapped reader resyncs to the writer and counts what it lost", "[transport]") {
  MirrorRig rig(4096, 16);
  CheckingSink sink;
  rig.reader->attach(rig.writer_view(), Clock::now());
  send_and_mirror(rig, sink, 0, 2, 1000);
  rig.run_reader(sink, [&] { return sink.indices.size() == 2; });
  REQUIRE(sink.indices.size() == 2);

  // The reader is not alive as far as the writer knows, so it does not hold the ring.
  rig.writer->set_reader_progress(rig.reader->consumed(), false);
  uint64_t written = send_and_mirror(rig, sink, 2, 40, 4000);  // 40 blocks: two and a half laps
  REQUIRE(written == 40);
  rig.reader->note_writer(rig.writer_view());
  rig.run_reader(sink, [&] { return rig.reader->stats().lapped_resyncs > 0; });
  CHECK(rig.reader->stats().lapped_resyncs == 1);
  CHECK(rig.reader->stats().blocks_lost_lapped >= 40 - 16);

  size_t before = sink.indices.size();
  send_and_mirror(rig, sink, 100, 5, 1000);
  rig.run_reader(sink, [&] { return sink.indices.size() >= before + 5; });
  CHECK(sink.indices.back() == 104);
  CHECK(sink.in_order());
  CHECK(sink.corrupt == 0);
}

TEST_CASE(
    "flow control: a live reader's unconsumed blocks are never overwritten - excess frames are dropped and counted",
    "[transport]") {
  MirrorRig rig(4096, 16);
  CheckingSink sink;
  rig.reader->attach(rig.writer_view(), Clock::now());
  send_and_mirror(rig, sink, 0, 4, 1000);
  rig.run_reader(sink, [&] { return sink.indices.size() == 4; });
  uint64_t ack = rig.reader->consumed();
  REQUIRE(ack >= 1);

  // The reader is alive but stops consuming: its record keeps saying `ack`.
  rig.writer->set_reader_progress(ack, true);
  std::vector<Bytes> frames;
  for (uint64_t i = 0; i < 200; ++i) {
    frames.push_back(indexed_frame(1000 + i, 3000));
    sink.sizes[1000 + i] = 3000;
  }
  std::vector<FrameSpan> views(frames.begin(), frames.end());
  size_t offered = 0;
  auto offer = [&] {
    offered += rig.writer->send(std::span(views).subspan(offered), Clock::now());
    rig.pump_writer(milliseconds(1));
  };

  // The ring looks full: the writer holds (takes nothing more) and asks for a fresh ack.
  for (int i = 0; i < 1000 && !rig.writer->wants_fresh_ack(); ++i) offer();
  REQUIRE(rig.writer->wants_fresh_ack());
  size_t held_at = offered;
  offer();
  CHECK(offered == held_at);
  CHECK(rig.writer->stats().frames_dropped_ring_full == 0);
  CHECK(rig.writer->stats().ring_full_holds == 1);

  // A read begun before the hold cannot confirm it: still holding, still nothing dropped.
  rig.writer->set_reader_progress(ack, true, rig.writer->ack_read_ticket() - 1);
  offer();
  CHECK(rig.writer->wants_fresh_ack());
  CHECK(offered == held_at);
  CHECK(rig.writer->stats().frames_dropped_ring_full == 0);

  // A fresh read says the same: now the ring is known full, and what does not fit is dropped.
  rig.writer->set_reader_progress(ack, true, rig.writer->ack_read_ticket());
  CHECK(rig.writer->dropping());
  CHECK(rig.writer->stats().ring_full_confirmed == 1);
  rig.fresh_ack = [&] { return std::optional<uint64_t>(ack); };
  for (int i = 0; i < 10000 && offered < views.size(); ++i) offer();
  REQUIRE(offered == views.size());
  rig.drain_writer();
  rig.mirror_range(1, rig.writer->next_sequence());
  uint64_t placed = rig.writer->stats().frames_sent - 4;
  uint64_t dropped = rig.writer->stats().frames_dropped_ring_full;
  CHECK(rig.writer->next_sequence() - 1 <= ack + 16);  // never past the reader's lap
  CHECK(dropped > 0);
  CHECK(placed + dropped == views.size());  // nothing lost silently

  // Everything that was placed reaches the reader intact: nothing it had not read was overwritten.
  rig.run_reader(sink, [&] { return sink.indices.size() >= 4 + placed; });
  CHECK(sink.indices.size() == 4 + placed);
  CHECK(sink.corrupt == 0);
  CHECK(sink.in_order());
  CHECK(rig.reader->stats().lapped_resyncs == 0);

  // Once the acknowledgement moves, frames flow again.
  rig.writer->set_reader_progress(rig.reader->consumed(), true);
  CHECK(!rig.writer->dropping());
  uint64_t dropped_before = rig.writer->stats().frames_dropped_ring_full;
  send_and_mirror(rig, sink, 5000, 3, 100);
  CHECK(rig.writer->stats().frames_dropped_ring_full == dropped_before);
}

TEST_CASE("flow control: a slow but live reader within the ring holds the writer back, never makes it drop",
          "[transport]") {
  MirrorRig rig(4096, 16);
  CheckingSink sink;
  rig.reader->attach(rig.writer_view(), Clock::now());
  send_and_mirror(rig, sink, 0, 4, 1000);
  rig.run_reader(sink, [&] { return sink.indices.size() == 4; });
  // The writer hears of the reader once here and then only when it asks: its ack goes stale
  // while the reader keeps up, a few blocks behind, as a state record read at heartbeats would.
  rig.writer->set_reader_progress(rig.reader->consumed(), true);
  rig.fresh_ack = [&] { return std::optional<uint64_t>(rig.reader->consumed()); };

  const size_t total = 600;  // about 150 blocks: nine laps of the ring
  std::vector<Bytes> frames;
  for (uint64_t i = 0; i < total; ++i) {
    frames.push_back(indexed_frame(100 + i, 1000));
    sink.sizes[100 + i] = 1000;
  }
  std::vector<FrameSpan> views(frames.begin(), frames.end());
  size_t offered = 0;
  uint64_t mirrored = rig.writer->next_sequence();
  uint64_t max_lag = 0;
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while ((offered < total || sink.indices.size() < 4 + total) && Clock::now() < deadline) {
    // New frames only while the reader is within half the ring, however slow the disk: the
    // writer's ack is stale, the ring never truly full.
    bool reader_close = rig.writer->next_sequence() - 1 - rig.reader->consumed() < 8;
    if (offered < total && reader_close)
      offered +=
          rig.writer->send(std::span(views).subspan(offered, std::min<size_t>(8, total - offered)), Clock::now());
    rig.writer->flush(Clock::now());
    rig.reap(std::chrono::microseconds(100));
    rig.mirror_range(mirrored, rig.writer->durable_head());
    mirrored = std::max(mirrored, rig.writer->durable_head());
    auto now = Clock::now();
    rig.reader->deliver(sink, now);
    rig.reader->poll(now);
    rig.reap(std::chrono::microseconds(100));
    rig.reader->deliver(sink, Clock::now());
    max_lag = std::max(max_lag, rig.writer->next_sequence() - 1 - rig.reader->consumed());
    rig.answer_ack_request();
  }
  CHECK(sink.indices.size() == 4 + total);
  CHECK(sink.in_order());
  CHECK(sink.corrupt == 0);
  CHECK(max_lag < 16);                             // the reader was always within the ring
  CHECK(rig.writer->stats().ring_full_holds > 0);  // the stale ack did make the ring look full
  CHECK(rig.fresh_acks_given > 0);
  CHECK(rig.writer->stats().frames_dropped_ring_full == 0);
  CHECK(rig.writer->stats().ring_full_confirmed == 0);
}

TEST_CASE("a reader starts at the writer's head and never replays old traffic", "[transport]") {
  MirrorRig rig(4096, 64);
  CheckingSink sink;
  send_and_mirror(rig, sink, 0, 5, 3000);
  // The record the reader sees is older than those blocks (its head still 1) but was written
  // after them: the blocks are old traffic all the same.
  WriterView view = rig.writer_view();
  view.head = 1;
  rig.reader->attach(view, Clock::now());
  rig.run_reader_for(sink, milliseconds(30));
  CHECK(sink.indices.empty());
  CHECK(rig.reader->stats().skipped_on_attach > 0);
  send_and_mirror(rig, sink, 100, 3, 500);
  rig.run_reader(sink, [&] { return sink.indices.size() == 3; });
  CHECK(sink.indices == std::vector<uint64_t>{100, 101, 102});
}

TEST_CASE("the writer submits a partial block at once when idle and batches behind writes in flight", "[transport]") {
  MirrorRig rig(65536, 64);
  CheckingSink sink;
  rig.send_frames(0, 1, 100, sink);
  // Idle link: the one small frame went out alone, without waiting to fill the block.
  CHECK(rig.writer->stats().flushes[static_cast<size_t>(FlushReason::idle)] == 1);
  CHECK(rig.writer->in_flight() + rig.writer->stats().blocks_written == 1);
  rig.drain_writer();
  // A burst: many frames while writes are in flight share blocks (group commit).
  rig.send_frames(1, 400, 1500, sink);
  rig.drain_writer();
  uint64_t blocks = rig.writer->stats().blocks_written - 1;
  CHECK(blocks < 400 / 4);
  CHECK(rig.writer->stats().flushes[static_cast<size_t>(FlushReason::full)] > 0);
}

TEST_CASE("a block older than max_age on the writer's clock is dropped and counted, never delivered", "[transport]") {
  auto options = MirrorRig::fast_reader();
  // Generous, so that fresh blocks stay young enough on a busy disk; old ones are made older.
  options.max_age = milliseconds(300);
  MirrorRig rig(4096, 64, EngineKind::automatic, 4, options);
  CheckingSink sink;
  rig.reader->attach(rig.writer_view(), Clock::now());
  rig.send_frames(0, 3, 500, sink);
  rig.drain_writer();
  rig.mirror_range(1, rig.writer->next_sequence());
  // The mirror held the block back: by the writer's state record it is now 500 ms old.
  std::this_thread::sleep_for(milliseconds(500));
  rig.reader->note_writer(rig.writer_view());
  rig.run_reader(sink, [&] { return rig.reader->stats().too_old_blocks > 0; });
  CHECK(rig.reader->stats().too_old_frames == 3);
  CHECK(sink.indices.empty());
  // Fresh traffic still flows.
  uint64_t before = rig.writer->next_sequence();
  rig.send_frames(10, 2, 500, sink);
  rig.drain_writer();
  rig.mirror_range(before, rig.writer->next_sequence());
  rig.run_reader(sink, [&] { return sink.indices.size() == 2; });
  CHECK(sink.indices == std::vector<uint64_t>{10, 11});
}

TEST_CASE("a writer with every write slot taken has no deadline: a completion, not a timer, wakes its owner",
          "[transport]") {
  MirrorRig rig(65536, 64);  // queue depth 4
  CheckingSink sink;
  std::vector<Bytes> frames;
  for (uint64_t i = 0; i < 200; ++i) frames.push_back(indexed_frame(i, 1500));
  std::vector<FrameSpan> views(frames.begin(), frames.end());
  auto now = Clock::now();
  rig.writer->send(views, now);
  rig.writer->flush(now);
  REQUIRE(rig.writer->in_flight() == 4);
  REQUIRE(!rig.writer->idle());
  CHECK(!rig.writer->next_deadline().has_value());
  rig.drain_writer();
}

namespace {

// Passes requests on to the rig's engine and keeps a copy of each read, so a test can see what
// the reader asked the device for. Completions still arrive through the rig's engine.
class RecordingEngine final : public IoEngine {
 public:
  explicit RecordingEngine(IoEngine& inner) : inner_(inner) {}
  std::string_view name() const override { return "recording"; }
  size_t submit(std::span<const IoRequest> requests) override {
    size_t accepted = inner_.submit(requests);
    for (size_t i = 0; i < accepted; ++i)
      if (requests[i].op == IoOp::read) reads.push_back(requests[i]);
    return accepted;
  }
  size_t reap(std::span<IoCompletion> out, std::chrono::nanoseconds timeout) override {
    return inner_.reap(out, timeout);
  }
  unsigned in_flight() const override { return inner_.in_flight(); }
  unsigned depth() const override { return inner_.depth(); }

  std::vector<IoRequest> reads;

 private:
  IoEngine& inner_;
};

}  // namespace

TEST_CASE("streaming reads take consecutive blocks together, never across the ring's end, rarely past the writer",
          "[transport]") {
  ReaderOptions options = MirrorRig::fast_reader();
  options.depth = 16;
  options.max_read_bytes = 4 * 4096;
  // 60 blocks: not a multiple of the window, so the ring's end falls inside the window's memory.
  MirrorRig rig(4096, 60, EngineKind::automatic, 4, options);
  RecordingEngine recording(*rig.engine);
  rig.reader = std::make_unique<BlockReader>(recording, rig.recv->fd(), rig.superblock, 0,
                                             rig.recv->logical_block_size(), options);
  CheckingSink sink;
  rig.reader->attach(rig.writer_view(), Clock::now());
  uint64_t index = 0;
  for (int round = 0; round < 8; ++round) {
    // About 40 blocks a round: the reader finds a backlog to stream through, and the ring's end
    // falls inside it in most rounds.
    rig.writer->set_reader_progress(rig.reader->consumed(), true);
    send_and_mirror(rig, sink, index, 160, 1000);
    index += 160;
    rig.run_reader(sink, [&] { return sink.indices.size() == index; });
    REQUIRE(sink.indices.size() == index);
  }
  CHECK(sink.in_order());
  CHECK(sink.corrupt == 0);

  const Superblock& sb = rig.superblock;
  uint64_t ring_start = sb.ring_offset(0), ring_end = ring_start + sb.ring_blocks * sb.block_size;
  size_t multi_block = 0;
  for (const IoRequest& read : recording.reads) {
    INFO("read of " << read.length << " bytes at " << read.offset);
    REQUIRE(read.offset >= ring_start);
    CHECK(read.offset + read.length <= ring_end);
    CHECK(read.length <= options.max_read_bytes);
    if (read.length > sb.block_size) ++multi_block;
  }
  uint64_t blocks = rig.reader->stats().blocks_delivered;
  INFO(recording.reads.size() << " reads for " << blocks << " blocks, " << multi_block << " of several blocks, "
                              << rig.reader->stats().readahead_misses << " read-ahead misses");
  CHECK(multi_block > 0);
  // Four blocks to a read, and blocks read too early read again as soon as the window allows
  // (not once the reader has stopped at them): well under half as many reads as blocks.
  CHECK(recording.reads.size() * 20 <= blocks * 9);
  // Each backlog ends once; reading past its end costs a few reads, not a window's worth each time.
  CHECK(rig.reader->stats().readahead_misses <= 8 * 8);
}
