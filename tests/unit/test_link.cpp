// A whole link (writer, reader, state records, liveness) reading back its own slot of a volume.
#include <catch2/catch.hpp>

#include "blockxport/link.h"
#include "transport_rig.h"

using namespace blockxport;
using namespace vnic_test;
using std::chrono::milliseconds;

namespace {

LinkOptions loopback_options(const std::string& path) {
  LinkOptions o;
  o.send_path = o.recv_path = path;
  o.allow_loopback = true;
  o.heartbeat_interval = milliseconds(20);
  o.dead_after = milliseconds(100);
  o.reader.max_interval = std::chrono::microseconds(200);
  return o;
}

Superblock format_file(const TempFile& file, uint32_t block_size) {
  FormatOptions f;
  f.block_size = block_size;
  return format_volume(file.path(), f);
}

StateRecord read_state(const std::string& path, const Superblock& sb) {
  Volume v = Volume::open(path, {VolumeAccess::read_only, false});
  AlignedBuffer buffer(4096, 4096);
  v.read_exact(buffer.data(), 4096, sb.state_record_offset(0));
  auto d = decode_state_record(buffer.span());
  REQUIRE(d.error == DecodeError::none);
  return d.record;
}

// Sends `count` frames through the link and runs it until all are back (or time is up).
void pump_frames(Link& link, CheckingSink& sink, uint64_t first, size_t count, size_t size) {
  std::vector<Bytes> frames;
  for (size_t i = 0; i < count; ++i) {
    frames.push_back(indexed_frame(first + i, size));
    sink.sizes[first + i] = size;
  }
  std::vector<FrameSpan> views(frames.begin(), frames.end());
  size_t want = sink.indices.size() + count, done = 0;
  auto deadline = Clock::now() + std::chrono::seconds(10);
  // Until the reader has attached, what is sent is old traffic to it and is skipped by design.
  while (!(link.reader() && link.reader()->attached()) && Clock::now() < deadline)
    link.run_once(sink, std::chrono::milliseconds(1));
  while ((done < views.size() || sink.indices.size() < want) && Clock::now() < deadline) {
    if (done < views.size()) done += link.send(std::span(views).subspan(done), Clock::now());
    link.run_once(sink, std::chrono::microseconds(100));
  }
}

template <typename Pred>
void run_until(Link& link, CheckingSink& sink, Pred done, milliseconds limit = milliseconds(3000)) {
  auto deadline = Clock::now() + limit;
  while (!done() && Clock::now() < deadline) link.run_once(sink, milliseconds(1));
}

}  // namespace

TEST_CASE("a link carries frames through its volume and sees itself alive", "[link]") {
  TempFile file(8 << 20);
  Superblock sb = format_file(file, 65536);
  auto link = Link::open(loopback_options(file.path()));
  CheckingSink sink;
  run_until(*link, sink, [&] { return link->peer().alive(); });
  REQUIRE(link->peer().alive());
  pump_frames(*link, sink, 0, 3000, 1500);
  CHECK(sink.indices.size() == 3000);
  CHECK(sink.in_order());
  CHECK(sink.corrupt == 0);
  CHECK(link->writer().stats().frames_dropped_ring_full == 0);
  // Acknowledgements went out through the state record.
  run_until(*link, sink, [&] { return read_state(file.path(), sb).acks[0] >= link->reader()->consumed(); });
  CHECK(read_state(file.path(), sb).acks[0] == link->reader()->consumed());
}

TEST_CASE("sequences continue across a clean stop and across a crash", "[link]") {
  TempFile file(8 << 20);
  Superblock sb = format_file(file, 4096);
  uint64_t epoch_one, after_clean;
  {
    auto link = Link::open(loopback_options(file.path()));
    CheckingSink sink;
    pump_frames(*link, sink, 0, 50, 3000);
    epoch_one = link->epoch();
    link->stop();
    after_clean = link->writer().next_sequence();
    auto state = read_state(file.path(), sb);
    CHECK(state.status == WriterStatus::clean_stop);
    CHECK(state.head_sequence == after_clean);
  }
  uint64_t crashed_at;
  {
    auto link = Link::open(loopback_options(file.path()));
    CHECK(link->epoch() != epoch_one);
    CHECK(link->stats().start_sequence == after_clean);  // clean stop: no gap
    CheckingSink sink;
    pump_frames(*link, sink, 1000, 50, 3000);
    CHECK(sink.indices.size() == 50);
    crashed_at = link->writer().next_sequence();
    // No stop(): the record still says running, its head as of the last heartbeat.
  }
  auto link = Link::open(loopback_options(file.path()));
  CHECK(link->stats().start_sequence >= crashed_at + kRestartSequenceGap);
  CheckingSink sink;
  pump_frames(*link, sink, 2000, 10, 100);
  CHECK(sink.indices.size() == 10);
}

TEST_CASE("a peer that stops writing its record is declared dead; a clean stop at once", "[link]") {
  TempFile a(4 << 20, "a"), b(4 << 20, "b");
  format_file(a, 4096);
  format_file(b, 4096);
  // Node A sends on a and reads b; node B the other way round (one file is both a node's send
  // volume and the other's receive volume, as with shared storage).
  LinkOptions oa = loopback_options(a.path()), ob = loopback_options(b.path());
  oa.recv_path = b.path();
  ob.recv_path = a.path();
  oa.allow_loopback = ob.allow_loopback = false;
  auto node_a = Link::open(oa);
  auto node_b = Link::open(ob);
  CheckingSink sink_a, sink_b;
  auto both = [&] {
    node_a->run_once(sink_a, milliseconds(1));
    node_b->run_once(sink_b, milliseconds(1));
  };
  auto deadline = Clock::now() + std::chrono::seconds(3);
  while (!(node_a->peer().alive() && node_b->peer().alive()) && Clock::now() < deadline) both();
  REQUIRE(node_a->peer().alive());
  REQUIRE(node_b->peer().alive());

  SECTION("crash: the record stops moving") {
    node_b.reset();
    run_until(*node_a, sink_a, [&] { return node_a->peer().state() == PeerState::dead; });
    CHECK(node_a->peer().state() == PeerState::dead);
  }
  SECTION("clean stop") {
    node_b->stop();
    node_b.reset();
    run_until(
        *node_a, sink_a, [&] { return node_a->peer().state() == PeerState::stopped; }, milliseconds(500));
    CHECK(node_a->peer().state() == PeerState::stopped);
  }
}

TEST_CASE("an unformatted receive volume is waited for, not an error", "[link]") {
  TempFile a(4 << 20, "a"), b(4 << 20, "b");
  format_file(a, 4096);
  LinkOptions o = loopback_options(a.path());
  o.recv_path = b.path();
  o.allow_loopback = false;
  auto link = Link::open(o);
  CHECK(link->peer().state() == PeerState::no_volume);
  CHECK(link->reader() == nullptr);
  format_file(b, 4096);
  CheckingSink sink;
  run_until(*link, sink, [&] { return link->reader() != nullptr; });
  CHECK(link->reader() != nullptr);
  CHECK(link->peer().state() != PeerState::no_volume);
}
