// Two whole links with keys: state records authenticated, liveness that no one without the key
// can fake (not even by replaying the peer's own old records), and a rolling key change.
#include <catch2/catch.hpp>

#include "auth_rig.h"
#include "blockxport/link.h"
#include "transport_rig.h"

using namespace blockxport;
using namespace vnic_test;
using std::chrono::milliseconds;

namespace {

// Node A sends on volume a and reads b; node B the other way round.
struct Pair {
  explicit Pair(std::shared_ptr<const Keyring> keys_a, std::shared_ptr<const Keyring> keys_b,
                milliseconds dead_after = milliseconds(150))
      : a(4 << 20, "a"), b(4 << 20, "b") {
    FormatOptions f;
    f.block_size = 4096;
    sb_a = format_volume(a.path(), f);
    sb_b = format_volume(b.path(), f);
    node_a = Link::open(options(a, b, std::move(keys_a), dead_after));
    node_b = Link::open(options(b, a, std::move(keys_b), dead_after));
  }

  static LinkOptions options(const TempFile& send, const TempFile& recv, std::shared_ptr<const Keyring> keys,
                             milliseconds dead_after) {
    LinkOptions o;
    o.send_path = send.path();
    o.recv_path = recv.path();
    o.heartbeat_interval = milliseconds(20);
    o.dead_after = dead_after;
    o.reader.max_interval = std::chrono::microseconds(200);
    o.keys = std::move(keys);
    return o;
  }

  void run_once() {
    node_a->run_once(sink_a, milliseconds(1));
    if (node_b) node_b->run_once(sink_b, milliseconds(1));
  }
  template <typename Pred>
  bool run_until(Pred done, milliseconds limit = milliseconds(3000)) {
    auto deadline = Clock::now() + limit;
    while (!done() && Clock::now() < deadline) run_once();
    return done();
  }
  void run_for(milliseconds duration) {
    run_until([] { return false; }, duration);
  }
  bool both_alive() const { return node_a->peer().alive() && node_b->peer().alive(); }

  // A sends `count` frames to B and runs both until B has them all (or time is up).
  void a_to_b(uint64_t first, size_t count, milliseconds limit = milliseconds(5000)) {
    std::vector<Bytes> frames;
    for (size_t i = 0; i < count; ++i) {
      frames.push_back(indexed_frame(first + i, 1200));
      sink_b.sizes[first + i] = 1200;
    }
    std::vector<FrameSpan> views(frames.begin(), frames.end());
    size_t done = 0, want = sink_b.indices.size() + count;
    auto deadline = Clock::now() + limit;
    while ((done < views.size() || sink_b.indices.size() < want) && Clock::now() < deadline) {
      if (done < views.size()) done += node_a->send(std::span(views).subspan(done), Clock::now());
      run_once();
    }
  }

  // B's state record as it is on volume b now, and putting one back there (the attacker).
  std::vector<std::byte> b_record() const {
    Volume v = Volume::open(b.path(), {VolumeAccess::read_only, false});
    AlignedBuffer buffer(4096, 4096);
    v.read_exact(buffer.data(), 4096, sb_b.state_record_offset(0));
    return std::vector<std::byte>(buffer.data(), buffer.data() + 4096);
  }
  void put_b_record(const std::vector<std::byte>& record) const {
    Volume v = Volume::open(b.path(), {VolumeAccess::read_write, false});
    AlignedBuffer buffer(4096, 4096);
    std::memcpy(buffer.data(), record.data(), record.size());
    v.write_exact(buffer.data(), 4096, sb_b.state_record_offset(0));
  }

  TempFile a, b;
  Superblock sb_a, sb_b;
  std::unique_ptr<Link> node_a, node_b;
  CheckingSink sink_a, sink_b;
};

std::shared_ptr<const Keyring> shared_keys(unsigned char seed, bool encrypt = false,
                                           std::optional<unsigned char> accept = std::nullopt) {
  return keyring(seed, encrypt, accept);
}

}  // namespace

TEST_CASE("peers with the same key see each other alive, carry frames, and survive a restart", "[link][auth]") {
  bool encrypt = GENERATE(false, true);
  DYNAMIC_SECTION("encrypt " << encrypt) {
    Pair pair(shared_keys(1, encrypt), shared_keys(1, encrypt));
    REQUIRE(pair.run_until([&] { return pair.both_alive(); }));
    pair.a_to_b(0, 300);
    CHECK(pair.sink_b.indices.size() == 300);
    CHECK(pair.sink_b.in_order());
    CHECK(pair.node_a->stats().state_auth_failed == 0);
    CHECK(pair.node_b->reader()->stats().auth_failed_blocks == 0);
    // B crashes and comes back with a new epoch: its records prove life again once it read ours.
    pair.node_b.reset();
    REQUIRE(pair.run_until([&] { return pair.node_a->peer().state() == PeerState::dead; }));
    pair.node_b = Link::open(Pair::options(pair.b, pair.a, shared_keys(1, encrypt), milliseconds(150)));
    CHECK(pair.run_until([&] { return pair.both_alive(); }));
    CHECK(pair.node_a->stats().state_auth_failed == 0);
  }
}

TEST_CASE("peers with different keys, or a key on one side only, never see each other alive", "[link][auth]") {
  auto [keys_a, keys_b] = GENERATE(std::pair<int, int>{1, 2}, std::pair<int, int>{1, 0}, std::pair<int, int>{0, 1});
  DYNAMIC_SECTION("key " << keys_a << " and key " << keys_b << " (0: none)") {
    Pair pair(keys_a ? shared_keys(static_cast<unsigned char>(keys_a)) : nullptr,
              keys_b ? shared_keys(static_cast<unsigned char>(keys_b)) : nullptr);
    pair.run_for(milliseconds(600));
    CHECK(!pair.node_a->peer().alive());
    CHECK(!pair.node_b->peer().alive());
    CHECK(pair.node_a->stats().state_auth_failed > 0);
    CHECK(pair.node_b->stats().state_auth_failed > 0);
    // The reader never attaches to a writer it cannot authenticate: nothing is delivered.
    CHECK(!(pair.node_b->reader() && pair.node_b->reader()->attached()));
    pair.a_to_b(0, 20, milliseconds(300));
    CHECK(pair.sink_b.indices.empty());
  }
}

TEST_CASE("replaying a dead peer's own old state records does not keep it alive", "[link][auth]") {
  // Plain records are replayed successfully: the attack is real, the keys are what stop it.
  bool keyed = GENERATE(true, false);
  DYNAMIC_SECTION((keyed ? "with keys" : "without keys")) {
    Pair pair(keyed ? shared_keys(1) : nullptr, keyed ? shared_keys(1) : nullptr, milliseconds(300));
    REQUIRE(pair.run_until([&] { return pair.both_alive(); }));
    // Someone who can read the volume keeps two of B's records ...
    auto first = pair.b_record();
    REQUIRE(pair.run_until([&] { return pair.b_record() != first; }));
    auto second = pair.b_record();
    // ... B dies, and they write those records back in turn, so its heartbeat keeps changing.
    pair.node_b.reset();
    auto until = Clock::now() + milliseconds(1500);
    for (int turn = 0; Clock::now() < until; ++turn) {
      pair.put_b_record(turn % 2 ? second : first);
      auto next = Clock::now() + milliseconds(25);
      while (Clock::now() < next) pair.run_once();
    }
    if (keyed) {
      CHECK(pair.node_a->peer().state() == PeerState::dead);
      CHECK(pair.node_a->stats().state_unconfirmed > 0);
    } else {
      CHECK(pair.node_a->peer().alive());
    }
  }
}

TEST_CASE("a rolling key change on two live links keeps them alive and loses no frame", "[link][auth]") {
  Pair pair(shared_keys(1), shared_keys(1));
  REQUIRE(pair.run_until([&] { return pair.both_alive(); }));
  uint64_t carrier_losses = 0, index = 0;
  auto settle = [&] {
    auto until = Clock::now() + milliseconds(200);
    while (Clock::now() < until) {
      pair.run_once();
      if (!pair.both_alive()) ++carrier_losses;
    }
    pair.a_to_b(index, 50);
    index += 50;
    REQUIRE(pair.sink_b.indices.size() == index);
  };
  settle();
  // a: both accept the new key; b: both seal with it, still accepting the old; c: the old one goes.
  pair.node_a->set_keys(shared_keys(1, false, 2));
  settle();
  pair.node_b->set_keys(shared_keys(1, false, 2));
  settle();
  pair.node_a->set_keys(shared_keys(2, true, 1));
  settle();
  pair.node_b->set_keys(shared_keys(2, true, 1));
  settle();
  pair.node_a->set_keys(shared_keys(2, true));
  settle();
  pair.node_b->set_keys(shared_keys(2, true));
  settle();
  CHECK(carrier_losses == 0);
  CHECK(pair.sink_b.in_order());
  CHECK(pair.node_a->stats().state_auth_failed == 0);
  CHECK(pair.node_b->stats().state_auth_failed == 0);
  CHECK(pair.node_b->reader()->stats().auth_failed_blocks == 0);
}
