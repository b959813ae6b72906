// Links on one shared volume, each writing its own slot and reading every other: the segment, the
// slot claim, a late joiner, a dead node, and a live node that stops reading.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "blockxport/link.h"
#include "transport_rig.h"

using namespace blockxport;
using namespace vnic_test;
using std::chrono::milliseconds;

namespace {

constexpr uint32_t kBlockSize = 16384;
constexpr uint64_t kFramesPerNode = 1 << 20;  // index ranges: node n sends n * kFramesPerNode + i

struct SharedVolume {
  explicit SharedVolume(uint32_t slots, uint64_t ring_blocks = 64)
      : file(volume_bytes_needed(kBlockSize, slots, ring_blocks), "shared") {
    FormatOptions f;
    f.block_size = kBlockSize;
    f.slots = slots;
    f.ring_blocks = ring_blocks;
    sb = format_volume(file.path(), f);
  }
  TempFile file;
  Superblock sb;
};

LinkOptions shared_options(const std::string& path, uint32_t slot, const std::string& name) {
  LinkOptions o;
  o.shared = true;
  o.send_path = path;
  o.send_slot = slot;
  o.owner = {name, "vnic0"};
  o.heartbeat_interval = milliseconds(20);
  o.dead_after = milliseconds(100);
  o.claim_settle = milliseconds(10);
  o.reader.max_interval = std::chrono::microseconds(200);
  o.reader.torn_timeout = milliseconds(20);
  return o;
}

// Frames from several senders: each sender's must arrive whole and in order, no duplicates.
struct SegmentSink : FrameSink {
  std::map<uint64_t, std::vector<uint64_t>> by_sender;
  uint64_t corrupt = 0;
  void deliver(std::span<const FrameSpan> frames, const BlockHeader&) override {
    for (auto f : frames) {
      uint64_t index = 0;
      if (f.size() >= 8) std::memcpy(&index, f.data(), 8);
      if (!std::equal(f.begin(), f.end(), indexed_frame(index, f.size()).begin())) {
        ++corrupt;
        continue;
      }
      by_sender[index / kFramesPerNode].push_back(index % kFramesPerNode);
    }
  }
  bool complete_in_order(uint64_t sender, size_t count) const {
    auto it = by_sender.find(sender);
    if (it == by_sender.end() || it->second.size() != count) return false;
    for (size_t i = 0; i < count; ++i)
      if (it->second[i] != i) return false;
    return true;
  }
  size_t from(uint64_t sender) const {
    auto it = by_sender.find(sender);
    return it == by_sender.end() ? 0 : it->second.size();
  }
};

struct Node {
  std::unique_ptr<Link> link;
  SegmentSink sink;
  std::vector<Bytes> frames;
  std::vector<FrameSpan> views;
  std::vector<uint64_t> destinations;  // per frame (empty: every frame to every slot)
  size_t sent = 0;
};

void queue_frames(Node& node, uint64_t sender, size_t count, size_t size) {
  for (size_t i = 0; i < count; ++i) node.frames.push_back(indexed_frame(sender * kFramesPerNode + i, size));
  node.views.assign(node.frames.begin(), node.frames.end());
}

// Runs every node's loop in turn until `done` or the time limit.
template <typename Pred>
void run_all(std::vector<Node*> nodes, Pred done, milliseconds limit = milliseconds(5000)) {
  auto deadline = Clock::now() + limit;
  while (!done() && Clock::now() < deadline) {
    for (Node* n : nodes) {
      if (n->sent < n->views.size()) {
        std::span<const uint64_t> to(n->destinations);
        n->sent += n->link->send(std::span(n->views).subspan(n->sent), Clock::now(),
                                 to.empty() ? to : to.subspan(n->sent));
      }
      n->link->run_once(n->sink, std::chrono::microseconds(100));
    }
  }
}

bool all_alive(const Link& link, size_t peers) {
  size_t alive = 0;
  for (const auto& p : link.peers())
    if (p.monitor.alive() && p.reader && p.reader->attached()) ++alive;
  return alive == peers;
}

// Opens a link on every slot of the volume and runs them until each sees every other alive.
struct Segment {
  explicit Segment(SharedVolume& volume) : nodes(volume.sb.slot_count) {
    for (uint32_t i = 0; i < nodes.size(); ++i)
      nodes[i].link = Link::open(shared_options(volume.file.path(), i, "n" + std::to_string(i)));
    for (auto& n : nodes) all.push_back(&n);
    run_all(all, [&] { return joined(); });
  }
  bool joined() const {
    for (const auto& n : nodes)
      if (!all_alive(*n.link, nodes.size() - 1)) return false;
    return true;
  }
  std::vector<Node> nodes;
  std::vector<Node*> all;
};

}  // namespace

TEST_CASE("four links on one volume: every node gets every other node's frames, in order, and not its own",
          "[link][shared]") {
  SharedVolume volume(4);
  Segment segment(volume);
  REQUIRE(segment.joined());
  auto& nodes = segment.nodes;
  auto& all = segment.all;
  for (uint32_t i = 0; i < 4; ++i) queue_frames(nodes[i], i, 2000, 700);
  run_all(all, [&] {
    for (uint32_t r = 0; r < 4; ++r)
      for (uint32_t s = 0; s < 4; ++s)
        if (r != s && nodes[r].sink.from(s) < 2000) return false;
    return true;
  });
  for (uint32_t r = 0; r < 4; ++r) {
    INFO("receiver " << r);
    CHECK(nodes[r].sink.corrupt == 0);
    CHECK(nodes[r].sink.from(r) == 0);
    for (uint32_t s = 0; s < 4; ++s)
      if (s != r) CHECK(nodes[r].sink.complete_in_order(s, 2000));
    CHECK(nodes[r].link->writer().stats().frames_dropped_ring_full == 0);
  }
  // The state records say who writes each slot.
  Volume v = Volume::open(volume.file.path(), {VolumeAccess::read_only, false});
  auto rec = read_state_record(v, volume.sb, 2);
  REQUIRE(rec.error == DecodeError::none);
  CHECK(rec.record.version == kStateRecordVersion2);
  CHECK(rec.record.owner == "n2");
}

TEST_CASE("a slot another live node writes is refused naming it, a stopped, dead or own slot is taken",
          "[link][shared]") {
  SharedVolume volume(3);
  Node owner;
  owner.link = Link::open(shared_options(volume.file.path(), 1, "owner"));
  std::atomic<bool> stop{false};
  std::thread beat([&] {
    while (!stop) owner.link->run_once(owner.sink, milliseconds(1));
  });
  CHECK_THROWS_AS(Link::open(shared_options(volume.file.path(), 1, "intruder")), SlotOwnedError);
  CHECK_THROWS_WITH(Link::open(shared_options(volume.file.path(), 1, "intruder")),
                    Catch::Contains(volume.file.path()) && Catch::Contains("slot 1") &&
                        Catch::Contains("\"owner\" (vnic0)") && Catch::Contains("running since"));
  stop = true;
  beat.join();
  // Nothing the refused nodes did reached the slot: the owner's record is still there.
  Volume v = Volume::open(volume.file.path(), {VolumeAccess::read_only, false});
  CHECK(read_state_record(v, volume.sb, 1).record.owner == "owner");
  CHECK(read_state_record(v, volume.sb, 1).record.epoch == owner.link->epoch());

  SECTION("after a clean stop the slot is free to take") {
    owner.link->stop();
    auto next = Link::open(shared_options(volume.file.path(), 1, "successor"));
    CHECK(next->slot_previous() == SlotPrevious::stopped);
  }
  SECTION("a dead owner's slot is taken after dead_after") {
    owner.link.reset();  // no clean stop: its record says running, and no longer moves
    auto started = Clock::now();
    auto next = Link::open(shared_options(volume.file.path(), 1, "successor"));
    CHECK(next->slot_previous() == SlotPrevious::dead);
    CHECK(Clock::now() - started >= milliseconds(100));
    CHECK(read_state_record(v, volume.sb, 1).record.owner == "successor");
  }
  SECTION("the same node and interface take their own slot at once (a restart)") {
    owner.link.reset();
    auto started = Clock::now();
    auto again = Link::open(shared_options(volume.file.path(), 1, "owner"));
    CHECK(again->slot_previous() == SlotPrevious::own_restart);
    CHECK(Clock::now() - started < milliseconds(100));
  }
}

TEST_CASE("two nodes claiming one free slot at the same moment: exactly one gets it", "[link][shared]") {
  for (int round = 0; round < 5; ++round) {
    SharedVolume volume(2);
    std::atomic<int> go{0};
    std::atomic<int> finished{0};
    std::unique_ptr<Link> links[2];
    std::string errors[2];
    // The winner heartbeats until both are done, as a running vnicd does: a claim that stopped
    // moving would be taken as dead.
    auto claim = [&](int i) {
      go.fetch_add(1);
      while (go.load() < 2) {
      }
      try {
        links[i] = Link::open(shared_options(volume.file.path(), 0, "racer" + std::to_string(i)));
      } catch (const SlotOwnedError& e) {
        errors[i] = e.what();
      }
      finished.fetch_add(1);
      SegmentSink sink;
      while (links[i] && finished.load() < 2) links[i]->run_once(sink, milliseconds(1));
    };
    std::thread a(claim, 0), b(claim, 1);
    a.join();
    b.join();
    INFO("round " << round << ": " << errors[0] << " / " << errors[1]);
    REQUIRE((links[0] != nullptr) != (links[1] != nullptr));
    int winner = links[0] ? 0 : 1;
    CHECK_THAT(errors[1 - winner], Catch::Contains("racer" + std::to_string(winner)));
    Volume v = Volume::open(volume.file.path(), {VolumeAccess::read_only, false});
    CHECK(read_state_record(v, volume.sb, 0).record.epoch == links[winner]->epoch());
  }
}

TEST_CASE("a node that joins late sees none of the traffic sent before it joined", "[link][shared]") {
  SharedVolume volume(3);
  Node a, b, late;
  a.link = Link::open(shared_options(volume.file.path(), 0, "a"));
  b.link = Link::open(shared_options(volume.file.path(), 1, "b"));
  run_all({&a, &b}, [&] { return all_alive(*a.link, 1) && all_alive(*b.link, 1); });
  queue_frames(a, 0, 500, 300);
  run_all({&a, &b}, [&] { return b.sink.from(0) == 500; });
  REQUIRE(b.sink.complete_in_order(0, 500));
  late.link = Link::open(shared_options(volume.file.path(), 2, "late"));
  run_all({&a, &b, &late}, [&] { return all_alive(*late.link, 2); });
  REQUIRE(all_alive(*late.link, 2));
  // Old traffic stays old; new traffic reaches the newcomer.
  b.frames.clear();
  queue_frames(b, 1, 100, 300);
  run_all({&a, &b, &late}, [&] { return late.sink.from(1) == 100; });
  CHECK(late.sink.from(0) == 0);
  CHECK(late.sink.complete_in_order(1, 100));
}

TEST_CASE("a dead node leaves the others alive and a stopped one shows stopped", "[link][shared]") {
  SharedVolume volume(3);
  Node a, b, c;
  a.link = Link::open(shared_options(volume.file.path(), 0, "a"));
  b.link = Link::open(shared_options(volume.file.path(), 1, "b"));
  c.link = Link::open(shared_options(volume.file.path(), 2, "c"));
  run_all({&a, &b, &c}, [&] { return all_alive(*a.link, 2) && all_alive(*b.link, 2); });
  REQUIRE(all_alive(*a.link, 2));
  c.link.reset();  // killed: no clean stop
  auto killed = Clock::now();
  run_all({&a, &b}, [&] { return a.link->peers()[1].monitor.state() == PeerState::dead; });
  CHECK(a.link->peers()[1].monitor.state() == PeerState::dead);
  CHECK(Clock::now() - killed < milliseconds(100 + 100));
  CHECK(a.link->any_peer_alive());
  auto events = a.link->take_events();
  bool told = std::any_of(events.begin(), events.end(), [](const TransportEvent& e) {
    return e.kind == TransportEvent::Kind::peer_state && e.slot == 2 && e.state == PeerState::dead && e.owner == "c";
  });
  CHECK(told);
  b.link->stop();
  run_all({&a}, [&] { return a.link->peers()[0].monitor.state() == PeerState::stopped; });
  CHECK(a.link->peers()[0].monitor.state() == PeerState::stopped);
  CHECK_FALSE(a.link->any_peer_alive());
}

TEST_CASE("a live node that stops reading is lapped after lap_after and the others lose nothing", "[link][shared]") {
  SharedVolume volume(3, 32);
  Node writer, reader;
  LinkOptions w = shared_options(volume.file.path(), 0, "writer");
  w.lap_after = milliseconds(50);
  writer.link = Link::open(w);
  reader.link = Link::open(shared_options(volume.file.path(), 1, "reader"));
  // Slot 2: a node whose heartbeat goes on but whose reader acknowledged sequence 1 and no more.
  Volume v = Volume::open(volume.file.path(), {VolumeAccess::read_write, false});
  std::atomic<bool> stop{false};
  std::thread stalled([&] {
    StateRecord r;
    r.version = kStateRecordVersion2;
    r.slot = 2;
    r.uuid = volume.sb.uuid;
    r.epoch = 0x5157;
    r.status = WriterStatus::running;
    r.head_sequence = r.epoch_first_sequence = 1;
    r.acks[0] = 1;
    r.owner = "stalled";
    AlignedBuffer buffer(kStateRecordStride, 4096);
    while (!stop) {
      ++r.heartbeat;
      encode_state_record(r, buffer.span());
      v.write_exact(buffer.data(), kStateRecordStride, volume.sb.state_record_offset(2));
      std::this_thread::sleep_for(milliseconds(10));
    }
  });
  run_all({&writer, &reader}, [&] {
    return reader.link->peers()[0].monitor.alive() && writer.link->peers()[1].monitor.alive() &&
           writer.link->peers()[1].acked == 1;
  });
  REQUIRE(writer.link->peers()[1].acked == 1);
  // Far more blocks than the ring holds (32 of 16 KiB), offered over about a second as a NIC
  // would: 30 frames every 5 ms. The stalled node holds the writer for lap_after from when the ring
  // fills for it (what is offered meanwhile is dropped and counted, as a full NIC queue does),
  // then it is lapped and no longer waited for.
  queue_frames(writer, 0, 6000, 1000);
  auto all = std::span(writer.views);
  size_t offered = 0;
  auto deadline = Clock::now() + milliseconds(10000);
  auto next_batch = Clock::now();
  while (Clock::now() < deadline && (offered < all.size() || writer.sent < all.size() ||
                                     reader.sink.from(0) + writer.link->writer().stats().frames_dropped_ring_full <
                                         all.size())) {
    if (Clock::now() >= next_batch && offered < all.size()) {
      offered = std::min(all.size(), offered + 30);
      next_batch += milliseconds(5);
    }
    if (writer.sent < offered) writer.sent += writer.link->send(all.subspan(writer.sent, offered - writer.sent), Clock::now());
    writer.link->run_once(writer.sink, std::chrono::microseconds(100));
    reader.link->run_once(reader.sink, std::chrono::microseconds(100));
  }
  stop = true;
  stalled.join();
  const auto& ws = writer.link->writer().stats();
  const auto& got = reader.sink.by_sender[0];
  INFO("holds " << ws.ring_full_holds << ", dropped " << ws.frames_dropped_ring_full << ", reader got " << got.size());
  CHECK(writer.link->stats().peers_lapped >= 1);
  CHECK(writer.link->peers()[1].lapped_out);
  // Nothing is lost unseen: what the reader lacks the writer counted, and what it got is in order.
  CHECK(got.size() + ws.frames_dropped_ring_full == all.size());
  CHECK(std::is_sorted(got.begin(), got.end()));
  CHECK(std::adjacent_find(got.begin(), got.end()) == got.end());
  // The hold lasted about lap_after (50 ms: some 300 frames offered), not the whole run: the rest
  // arrived, the last frames among them.
  CHECK(ws.frames_dropped_ring_full < all.size() / 4);
  REQUIRE(!got.empty());
  CHECK(got.back() == all.size() - 1);
}

TEST_CASE("frames for one slot reach it, and the other nodes pass over their blocks without reading the payload",
          "[link][shared]") {
  SharedVolume volume(3);
  Segment segment(volume);
  REQUIRE(segment.joined());
  auto& nodes = segment.nodes;
  auto& all = segment.all;
  // 300 frames of 9000 bytes for slot 1 (each block's payload spans past its first 4 KiB), then
  // 50 for everyone: node 2 must get the 50, in order, and not the 300, but for those that share
  // a block with the first of the 50 (a block is for the union of its frames' destinations).
  queue_frames(nodes[0], 0, 350, 9000);
  nodes[0].destinations.assign(300, uint64_t{1} << 1);
  nodes[0].destinations.resize(350, kAllDestinations);
  auto has_last = [&] { return nodes[2].sink.from(0) > 0 && nodes[2].sink.by_sender.at(0).back() == 349; };
  run_all(all, [&] { return nodes[1].sink.from(0) == 350 && has_last(); });
  CHECK(nodes[1].sink.complete_in_order(0, 350));
  CHECK(nodes[1].sink.corrupt == 0);
  REQUIRE(has_last());
  const auto& got = nodes[2].sink.by_sender.at(0);
  const size_t frames_per_block = kBlockSize / 9000 + 1;
  REQUIRE(got.size() >= 50);
  CHECK(got.size() <= 50 + frames_per_block);
  for (size_t i = 0; i < 50; ++i) CHECK(got[got.size() - 50 + i] == 300 + i);
  for (size_t i = 1; i < got.size(); ++i) CHECK(got[i] == got[i - 1] + 1);
  CHECK(nodes[2].sink.corrupt == 0);
  auto passed_over = nodes[2].link->reader_totals();
  REQUIRE(passed_over);
  CHECK(passed_over->blocks_not_for_us > 0);
  CHECK(passed_over->dropped_partial_frames == 0);  // a tail of the 300 is not a loss of ours
  CHECK(passed_over->corrupt_blocks == 0);
  CHECK(passed_over->missing_blocks == 0);
  CHECK(passed_over->blocks_lost_lapped == 0);
  CHECK(passed_over->payload_reads_saved > 0);
  // Node 1 read everything it got: none of its blocks were passed over.
  CHECK(nodes[1].link->reader_totals()->blocks_not_for_us == 0);
  // The writer still waited for node 2's acknowledgement of the blocks it passed over.
  CHECK(nodes[0].link->writer().stats().frames_dropped_ring_full == 0);
}
