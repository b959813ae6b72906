#include "blockxport/link.h"

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <span>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "blockxport/io_tags.h"
#include "blockxport/volume_check.h"

namespace blockxport {
namespace {

enum StateTag : uint32_t { kStateWrite = 0, kStateRead = 1 };

// Beyond ack_interval, how much later than its stamp a record may land (a slow write).
constexpr Nanos kRecordStalenessMargin{10'000'000};

uint64_t random_epoch() {
  uint64_t value = 0;
  while (value == 0) {
    if (getrandom(&value, sizeof(value), 0) != sizeof(value)) throw std::runtime_error("getrandom failed");
  }
  return value;
}

// A volume formatted with several slots given to a mirrored pair (as either volume).
VolumeError shared_lun_in_a_pair(const std::string& path, uint32_t slots, std::string_view as) {
  return VolumeError(fmt::format("{}: formatted as a shared LUN ({} slots); join it with --volume and --slot, "
                                 "not as the {} volume of a mirrored pair",
                                 path, slots, as));
}

uint64_t unix_now_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace

Link::Link(const LinkOptions& options, Volume send, std::optional<Volume> recv)
    : options_(options), send_volume_(std::move(send)), recv_volume_(std::move(recv)), keys_(options.keys) {}

Link::~Link() {
  // In-flight requests point into our buffers: let them finish before the memory goes.
  if (engine_) {
    std::array<IoCompletion, 64> done;
    auto deadline = Clock::now() + std::chrono::seconds(5);
    while (engine_->in_flight() > 0 && Clock::now() < deadline) engine_->reap(done, std::chrono::milliseconds(10));
  }
}

std::unique_ptr<Link> Link::open(const LinkOptions& options, TimePoint now) {
  if (options.dead_after < 3 * options.heartbeat_interval)
    throw std::invalid_argument("dead_after must be at least 3 heartbeat intervals");
  // One volume for both directions: a shared LUN, or a loopback for benchmarks.
  bool one_volume = options.shared || options.send_path == options.recv_path;
  if (!options.shared && one_volume && options.send_slot == options.peer_slot && !options.allow_loopback)
    throw std::invalid_argument(
        fmt::format("{}: the send and receive volumes are the same file and the same slot", options.send_path));

  Volume send = Volume::open(options.send_path, {VolumeAccess::read_write, options.open_dsync});
  std::optional<Volume> recv;
  if (!one_volume) recv = Volume::open(options.recv_path, {VolumeAccess::read_only, false});
  std::unique_ptr<Link> link(new Link(options, std::move(send), std::move(recv)));

  Superblock& sb = link->send_sb_;
  sb = read_formatted_superblock(link->send_volume_);
  if (options.expected_block_size && *options.expected_block_size != sb.block_size)
    throw VolumeError(fmt::format("{}: formatted with {}-byte blocks, the configuration says {}", options.send_path,
                                  sb.block_size, *options.expected_block_size));
  if (options.send_slot >= sb.slot_count)
    throw VolumeError(fmt::format("{}: slot {} does not exist (the volume has {} slots)", options.send_path,
                                  options.send_slot, sb.slot_count));
  if (options.shared && sb.slot_count < 2)
    throw VolumeError(fmt::format("{}: formatted for the two-volume mode (1 slot), not as a shared LUN: format it "
                                  "with --slots N (one per node) to share it",
                                  options.send_path));
  if (!options.shared && !one_volume && sb.slot_count > 1)
    throw shared_lun_in_a_pair(options.send_path, sb.slot_count, "send");

  // Every slot but ours is a peer of a shared LUN; each gets a reader when its record shows a writer.
  if (options.shared) {
    for (uint32_t slot = 0; slot < sb.slot_count; ++slot)
      if (slot != options.send_slot) link->peers_.emplace_back(slot, options.dead_after);
  } else {
    link->peers_.emplace_back(options.peer_slot, options.dead_after);
  }

  EngineOptions engine_options;
  engine_options.depth = options.writer.queue_depth +
                         options.reader.depth * static_cast<unsigned>(link->peers_.size()) + 4;
  engine_options.write_dsync = options.write_dsync;
  engine_options.fixed_buffers = options.fixed_buffers;
  link->engine_ = make_io_engine(options.engine, engine_options);

  // Checked before anything is written: a shared LUN given as a pair's receive volume.
  if (link->recv_volume_) {
    auto probed = probe_formatted_superblock(*link->recv_volume_);
    if (probed.superblock && probed.superblock->slot_count > 1)
      throw shared_lun_in_a_pair(options.recv_path, probed.superblock->slot_count, "receive");
  }
  link->claim_and_start();
  link->try_attach_receive_volume(now);
  // The pair's one peer starts somewhere worth saying (waiting for its volume, or unknown); a
  // shared LUN's peers speak when they first change.
  if (!options.shared) link->note_state(link->peers_.front(), true);
  return link;
}

// Takes our slot and writes the running record that goes out before any block, so a reader can
// always tell our epoch from a dead one's. A mirrored pair's send volume is ours alone by
// construction; a shared LUN's slot is claimed (slot_claim.h).
void Link::claim_and_start() {
  uint64_t epoch = random_epoch();
  StateExchangeOptions x;
  x.record_version = options_.shared ? kStateRecordVersion2 : kStateRecordVersion1;
  x.owner = options_.owner.node_name;
  x.ifname = options_.owner.ifname;
  x.started_unix_ns = unix_now_ns();
  x.heartbeat_interval = options_.heartbeat_interval;
  x.dead_after = options_.dead_after;
  x.ack_interval = options_.ack_interval;
  x.urgent_read_interval = options_.urgent_read_interval;
  SlotClaimOptions claim{options_.heartbeat_interval, options_.dead_after, options_.claim_settle};

  for (int attempt = 0;; ++attempt) {
    SlotJudgement judged;
    if (options_.shared) {
      judged = judge_slot(send_volume_, send_sb_, options_.send_slot, options_.owner, claim);
    } else {
      judged.record = read_state_record(send_volume_, send_sb_, options_.send_slot);
      judged.read_at = Clock::now();
    }
    RecoveredSequence recovered = recover_sequence(send_volume_, send_sb_, options_.send_slot, judged.record);
    exchange_ = std::make_unique<StateExchange>(*engine_, send_volume_.fd(), send_sb_, options_.send_slot, epoch,
                                                recovered.first_sequence, recovered.heartbeat, x, keys_.get());
    OwnProgress start{recovered.first_sequence, {}};
    std::span<const std::byte> record = exchange_->running_record(start, Clock::now());
    if (options_.shared) {
      if (confirm_claim(send_volume_, send_sb_, options_.send_slot, epoch, record, judged, claim) ==
          ClaimResult::too_slow) {
        if (attempt < 3) continue;
        throw VolumeError(fmt::format("{}: slot {}: the volume answers too slowly to claim the slot safely "
                                      "(a read and a write took longer than {} ms)",
                                      send_volume_.path(), options_.send_slot, claim.settle.count() / 2'000'000));
      }
    } else {
      send_volume_.write_exact(record.data(), record.size(), send_sb_.state_record_offset(options_.send_slot));
    }
    slot_previous_ = judged.previous;
    stats_.start_sequence = recovered.first_sequence;
    stats_.restart_scan_blocks = recovered.restart_scan_blocks;
    break;
  }

  WriterOptions writer_options = options_.writer;
  // A shared LUN's blocks name the slots they are for; a pair keeps version 1, which a peer of an
  // earlier release reads.
  writer_options.block_version = options_.shared ? kBlockVersion2 : kBlockVersion1;
  // O_DIRECT writes must be whole logical blocks of the device.
  if (writer_options.write_unit != 0)
    writer_options.write_unit =
        std::min(send_sb_.block_size, std::max(writer_options.write_unit, send_volume_.logical_block_size()));
  writer_ = std::make_unique<BlockWriter>(*engine_, send_volume_.fd(), send_sb_, options_.send_slot, epoch,
                                          exchange_->first_sequence(), writer_options, keys_.get());
}

void Link::try_attach_receive_volume(TimePoint now) {
  next_volume_probe_ = now + options_.heartbeat_interval;
  if (options_.shared) {
    recv_sb_ = send_sb_;
    std::vector<uint32_t> slots;
    for (const auto& p : peers_) slots.push_back(p.slot);
    exchange_->watch(send_volume_.fd(), send_sb_, std::move(slots));
    for (auto& p : peers_) p.monitor.observe(std::nullopt, now, now);  // formatted: "unknown" until a record shows
    return;
  }
  const Volume& volume = recv_volume();
  auto checked = probe_formatted_superblock(volume);
  LinkPeer& peer = peers_.front();
  if (!checked.superblock) {
    if (peer.monitor.state() != PeerState::no_volume) {
      peer.monitor.set_no_volume(now);
      note_state(peer, true);
    }
    return;
  }
  const Superblock& sb = *checked.superblock;
  if (recv_volume_ && sb.slot_count > 1)
    throw shared_lun_in_a_pair(volume.path(), sb.slot_count, "receive");
  if (peer.slot >= sb.slot_count)
    throw VolumeError(fmt::format("{}: peer slot {} does not exist (the volume has {} slots)", volume.path(),
                                  peer.slot, sb.slot_count));
  if (recv_volume_ && sb.uuid == send_sb_.uuid && peer.slot == options_.send_slot)
    throw VolumeError(fmt::format("{}: has the same UUID and slot as the send volume {}; it must be the peer's",
                                  volume.path(), send_volume_.path()));
  recv_sb_ = sb;
  peer.reader = std::make_unique<BlockReader>(*engine_, volume.fd(), sb, peer.slot, volume.logical_block_size(),
                                              options_.reader, keys_.get());
  exchange_->watch(volume.fd(), sb, {peer.slot});
}

LinkPeer* Link::peer_for_slot(uint32_t slot) {
  for (auto& p : peers_)
    if (p.slot == slot) return &p;
  return nullptr;
}

size_t Link::send(std::span<const FrameSpan> frames, TimePoint now, std::span<const uint64_t> destinations) {
  size_t taken = writer_->send(frames, now, destinations);
  writer_->flush(now);
  // A reply comes from where the frames went: only those peers' readers expect one.
  uint64_t sent_to = destinations.empty() ? kAllDestinations : 0;
  for (size_t i = 0; i < std::min(taken, destinations.size()); ++i) sent_to |= destinations[i];
  if (taken > 0)
    for (auto& p : peers_)
      if (p.reader && ((sent_to >> p.slot) & 1)) p.reader->expect_reply(now, taken);
  return taken;
}

void Link::reap(Nanos wait, TimePoint& now) {
  std::array<IoCompletion, 64> done;
  size_t n = engine_->reap(done, wait);
  if (n > 0 || wait.count() > 0) now = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    uint64_t tag = done[i].tag;
    uint32_t index = tag_index(tag);
    switch (tag_owner(tag)) {
      case IoOwner::writer:
        writer_->on_complete(index, done[i].result, now);
        break;
      case IoOwner::reader:
        if (LinkPeer* p = peer_for_slot(tag_unit(tag)); p && p->reader) p->reader->on_complete(index, done[i].result, now);
        break;
      case IoOwner::state:
        if (index == kStateWrite) {
          exchange_->on_write_done(done[i].result);
        } else {
          auto seen = exchange_->on_read_done(done[i].result);
          on_peer_records(seen, now, peer_read_can_confirm_);
        }
        break;
    }
  }
}

OwnProgress Link::progress() const {
  OwnProgress p;
  p.head = writer_ ? writer_->durable_head() : exchange_->first_sequence();
  for (const auto& peer : peers_)
    if (peer.reader && peer.reader->attached()) p.acks[peer.slot] = peer.reader->consumed();
  return p;
}

bool Link::wants_urgent_read() const {
  // A writer holding for a fresh acknowledgement (or dropping until one shows room), or a reader
  // puzzled by an epoch, asks sooner than the heartbeat.
  if (writer_->wants_fresh_ack() || writer_->ring_full()) return true;
  for (const auto& p : peers_)
    if (p.reader && p.reader->wants_writer_state()) return true;
  return false;
}

void Link::run_once(FrameSink& sink, Nanos max_wait) {
  TimePoint now = Clock::now();
  reap(Nanos{0}, now);
  if (!exchange_->watching() && now >= next_volume_probe_) try_attach_receive_volume(now);
  for (auto& p : peers_)
    if (p.reader) p.reader->deliver(sink, now);
  bool changed = false;
  for (auto& p : peers_) {
    bool c = p.monitor.tick(now);
    if (c) note_state(p, true);
    changed |= c;
  }
  if (changed) update_writer_flow(now, false);
  // State records first: queued behind a burst of block I/O, a 4 KiB record would carry its
  // acknowledgement (and the peer's writer, holding for it) only after all of that.
  exchange_->maybe_write(now, progress(), ack_ring_blocks());
  bool urgent = wants_urgent_read();
  uint64_t ticket = writer_->ack_read_ticket();
  auto held_since = writer_->holding_since();
  if (exchange_->maybe_read(now, urgent, verdict_due())) {
    peer_read_ticket_ = ticket;
    peer_read_can_confirm_ = !held_since || now - *held_since >= 2 * options_.ack_interval;
    for (auto& p : peers_)
      if (p.reader) p.reader->clear_wants_writer_state();
  }
  writer_->flush(now);
  for (auto& p : peers_)
    if (p.reader) p.reader->poll(now);
  for (auto& p : peers_)
    if (p.reader) collect_reader_events(p);

  if (max_wait.count() <= 0) return;
  auto wake = next_wakeup();
  Nanos wait = max_wait;
  if (wake) wait = std::clamp(std::chrono::duration_cast<Nanos>(*wake - now), Nanos{0}, max_wait);
  if (wait.count() <= 0) return;
  if (engine_->in_flight() > 0) {
    reap(wait, now);
    for (auto& p : peers_)
      if (p.reader) p.reader->deliver(sink, now);
  } else {
    std::this_thread::sleep_for(wait);
  }
}

std::optional<TimePoint> Link::next_wakeup() const {
  std::optional<TimePoint> when;
  auto consider = [&](std::optional<TimePoint> t) {
    if (t && (!when || *t < *when)) when = t;
  };
  consider(exchange_->write_due(progress(), ack_ring_blocks()));
  consider(writer_->next_deadline());
  if (exchange_->watching()) {
    consider(exchange_->read_due(wants_urgent_read(), verdict_due()));
    for (const auto& p : peers_)
      if (p.reader) consider(p.reader->next_poll());
  } else {
    consider(next_volume_probe_);
  }
  return when;
}

bool Link::joined(TimePoint now) const {
  const LinkPeer& p = peers_.front();
  return p.reader && p.reader->attached() && now >= p.joined_at;
}

bool Link::any_peer_alive() const {
  return std::any_of(peers_.begin(), peers_.end(),
                     [](const LinkPeer& p) { return p.monitor.alive() && p.reader && p.reader->attached(); });
}

void Link::note_state(LinkPeer& peer, bool changed) {
  if (!changed) return;
  TransportEvent e;
  e.kind = TransportEvent::Kind::peer_state;
  e.slot = peer.slot;
  e.state = peer.monitor.state();
  if (const auto& r = peer.monitor.last_record()) e.owner = r->owner;
  events_.push_back(std::move(e));
}

void Link::collect_reader_events(LinkPeer& peer) {
  for (const ReaderEvent& r : peer.reader->take_events()) {
    TransportEvent e;
    e.kind = TransportEvent::Kind::reader;
    e.slot = peer.slot;
    e.reader = r;
    events_.push_back(std::move(e));
  }
}

std::optional<TimePoint> Link::verdict_due() const {
  std::optional<TimePoint> when;
  for (const auto& p : peers_)
    if (auto t = p.monitor.verdict_due(); t && (!when || *t < *when)) when = t;
  return when;
}

void Link::on_peer_records(const std::vector<PeerRecordObservation>& seen, TimePoint now, bool fresh) {
  TimePoint issued = exchange_->last_read_issued();
  for (const auto& s : seen)
    if (LinkPeer* p = peer_for_slot(s.slot)) observe_peer(*p, s, issued, now);
  if (const auto& usurper = exchange_->usurper(); usurper && !slot_lost_reported_) {
    slot_lost_reported_ = true;
    TransportEvent e;
    e.kind = TransportEvent::Kind::slot_lost;
    e.slot = options_.send_slot;
    e.owner = describe_owner(*usurper);
    events_.push_back(std::move(e));
  }
  update_writer_flow(now, fresh);
}

void Link::observe_peer(LinkPeer& peer, const PeerRecordObservation& seen, TimePoint issued, TimePoint now) {
  if (seen.outcome == PeerRecordOutcome::empty) {
    note_state(peer, peer.monitor.observe(std::nullopt, issued, now));
    return;
  }
  if (seen.outcome != PeerRecordOutcome::accepted) {
    note_state(peer, peer.monitor.no_news(issued, now));
    return;
  }
  const StateRecord& record = seen.record;
  note_state(peer, peer.monitor.observe(record, issued, now));
  if (record.status != WriterStatus::empty) {
    if (!peer.reader) {
      // A shared LUN's peer gets its reader (and its memory) when its slot first shows a writer.
      peer.reader = std::make_unique<BlockReader>(*engine_, send_volume_.fd(), send_sb_, peer.slot,
                                                  send_volume_.logical_block_size(), options_.reader, keys_.get());
      peer.reader->set_own_slot(options_.send_slot);
    }
    WriterView view{record.epoch, record.epoch_first_sequence, record.head_sequence, record.writer_monotonic_ns, now};
    if (!peer.reader->attached()) {
      // A writer publishes its head within ack_interval of moving it, so blocks it stamped later
      // than that after this record were written after we looked; earlier ones may be old traffic
      // a late joiner must not replay. (The cost: a joiner may skip the first few ms of new traffic.)
      view.old_before_ns = record.writer_monotonic_ns + static_cast<uint64_t>(options_.ack_interval.count()) +
                           static_cast<uint64_t>(kRecordStalenessMargin.count());
      peer.reader->attach(view, now);
      peer.joined_at = now + options_.ack_interval + kRecordStalenessMargin;
    }
    else
      peer.reader->note_writer(view);
    // A parked reader learns from the table that its ring moved: one read instead of a poll per
    // peer per interval, whatever the number of peers.
    if (peer.reader->parked() &&
        (record.head_sequence > peer.reader->next_sequence() || record.epoch != peer.reader->epoch()))
      peer.reader->wake(now);
    peer.ever_seen = true;
  }
  uint64_t acked = record.acks[options_.send_slot];
  if (acked != peer.acked) peer.acked_moved_at = now;
  peer.acked = acked;
}

void Link::update_writer_flow(TimePoint now, bool fresh) {
  std::optional<uint64_t> least;
  uint64_t next = writer_->next_sequence();
  // A fresh slot's writer starts at sequence 1, so a reader attached to it that has consumed
  // nothing yet shows 0, the same as one not reading us. On a shared LUN every live node reads
  // every slot: there, within our first lap, 0 is taken for "attached, nothing consumed" and
  // waited for (lap_after still bounds it), else a fast first burst would lap the new reader.
  bool first_lap = options_.shared && exchange_->first_sequence() == 1 && next <= send_sb_.ring_blocks + 1;
  for (auto& p : peers_) {
    bool alive = p.monitor.alive() || p.monitor.state() == PeerState::unknown;
    if (!alive || (p.acked == 0 && !(first_lap && p.monitor.alive()))) {
      p.lapped_out = false;
      continue;
    }
    bool full_for_it = next > p.acked + send_sb_.ring_blocks;
    if (!full_for_it) {
      p.full_since.reset();
      p.lapped_out = false;
    } else if (!p.full_since) {
      p.full_since = now;
    }
    // Stalled: our ring has been full for it, and its acknowledgement still, for lap_after.
    if (options_.lap_after.count() > 0 && full_for_it &&
        now - std::max(*p.full_since, p.acked_moved_at) >= options_.lap_after) {
      if (!p.lapped_out) ++stats_.peers_lapped;
      p.lapped_out = true;
    }
    if (p.lapped_out) continue;
    least = least ? std::min(*least, p.acked) : p.acked;
  }
  if (!least) {
    writer_->set_reader_progress(0, false);
  } else if (fresh) {
    writer_->set_reader_progress(*least, true, peer_read_ticket_);
  } else {
    writer_->set_reader_progress(*least, true);  // may show room; too early to prove there is none
  }
}

std::optional<ReaderStats> Link::reader_totals() const {
  std::optional<ReaderStats> total;
  for (const auto& p : peers_) {
    if (!p.reader) continue;
    if (!total)
      total = p.reader->stats();
    else
      total->add(p.reader->stats());
  }
  return total;
}

uint64_t Link::least_ack() const {
  uint64_t least = 0;
  for (const auto& p : peers_) {
    bool alive = p.monitor.alive() || p.monitor.state() == PeerState::unknown;
    if (alive && p.acked != 0 && !p.lapped_out) least = least == 0 ? p.acked : std::min(least, p.acked);
  }
  return least;
}

LinkStats Link::stats() const {
  LinkStats s = stats_;
  const auto& x = exchange_->stats();
  s.state_writes = x.state_writes;
  s.state_reads = x.state_reads;
  s.state_unreadable = x.state_unreadable;
  s.state_auth_failed = x.state_auth_failed;
  s.state_unconfirmed = x.state_unconfirmed;
  s.io_errors_state = x.io_errors_state;
  return s;
}

void Link::update_timers(const LinkOptions& options) {
  if (options.dead_after < 3 * options.heartbeat_interval)
    throw std::invalid_argument("dead_after must be at least 3 heartbeat intervals");
  options_.heartbeat_interval = options.heartbeat_interval;
  options_.dead_after = options.dead_after;
  options_.ack_interval = options.ack_interval;
  options_.urgent_read_interval = options.urgent_read_interval;
  options_.lap_after = options.lap_after;
  options_.reader = options.reader;
  options_.writer.flush_deadline = options.writer.flush_deadline;
  options_.writer.retry_backoff = options.writer.retry_backoff;
  exchange_->set_timers(options.heartbeat_interval, options.dead_after, options.ack_interval,
                        options.urgent_read_interval);
  writer_->set_flush_deadline(options.writer.flush_deadline);
  for (auto& p : peers_) {
    p.monitor.set_dead_after(options.dead_after);
    if (p.reader) p.reader->set_options(options.reader);
  }
}

void Link::set_keys(std::shared_ptr<const Keyring> keys, TimePoint now) {
  writer_->set_keys(keys.get(), now);
  exchange_->set_keys(keys.get());
  for (auto& p : peers_)
    if (p.reader) p.reader->set_keys(keys.get());
  // The old keyring may go only now: the writer sealed its partial block with it just above.
  keys_ = std::move(keys);
}

void Link::stop(Nanos timeout) {
  TimePoint now = Clock::now();
  TimePoint deadline = now + timeout;
  writer_->flush_all(now);
  while ((!writer_->idle() || exchange_->write_in_flight()) && now < deadline) {
    reap(std::chrono::milliseconds(1), now);
    writer_->flush_all(now);
  }
  // Another node writes our slot now: a clean stop of ours would overwrite its record.
  if (exchange_->usurper()) return;
  std::span<const std::byte> record = exchange_->clean_stop_record(progress(), now);
  send_volume_.write_exact(record.data(), record.size(), send_sb_.state_record_offset(options_.send_slot));
}

}  // namespace blockxport
