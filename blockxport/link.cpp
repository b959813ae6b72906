#include "blockxport/link.h"

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <span>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "blockxport/io_tags.h"
#include "blockxport/volume_check.h"

namespace blockxport {
namespace {

enum StateTag : uint32_t { kStateWrite = 0, kStateRead = 1 };

uint64_t random_epoch() {
  uint64_t value = 0;
  while (value == 0) {
    if (getrandom(&value, sizeof(value), 0) != sizeof(value)) throw std::runtime_error("getrandom failed");
  }
  return value;
}

}  // namespace

Link::Link(const LinkOptions& options, Volume send, std::optional<Volume> recv)
    : options_(options),
      send_volume_(std::move(send)),
      recv_volume_(std::move(recv)),
      peer_(options.dead_after),
      state_out_(kStateRecordStride, 4096),
      state_in_(kStateRecordStride, 4096),
      keys_(options.keys) {}

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
  // One volume for both directions: a shared LUN (two slots), or a loopback for benchmarks.
  bool loopback = options.send_path == options.recv_path;
  if (loopback && options.send_slot == options.peer_slot && !options.allow_loopback)
    throw std::invalid_argument(
        fmt::format("{}: the send and receive volumes are the same file and the same slot", options.send_path));

  Volume send = Volume::open(options.send_path, {VolumeAccess::read_write, options.open_dsync});
  std::optional<Volume> recv;
  if (!loopback) recv = Volume::open(options.recv_path, {VolumeAccess::read_only, false});
  std::unique_ptr<Link> link(new Link(options, std::move(send), std::move(recv)));

  link->send_sb_ = read_formatted_superblock(link->send_volume_);
  if (options.expected_block_size && *options.expected_block_size != link->send_sb_.block_size)
    throw VolumeError(fmt::format("{}: formatted with {}-byte blocks, the configuration says {}", options.send_path,
                                  link->send_sb_.block_size, *options.expected_block_size));
  if (options.send_slot >= link->send_sb_.slot_count)
    throw VolumeError(fmt::format("{}: slot {} does not exist (the volume has {} slots)", options.send_path,
                                  options.send_slot, link->send_sb_.slot_count));

  EngineOptions engine_options;
  engine_options.depth = options.writer.queue_depth + options.reader.depth + 4;
  engine_options.write_dsync = options.write_dsync;
  link->engine_ = make_io_engine(options.engine, engine_options);

  link->recover_sequence(now);
  WriterOptions writer_options = options.writer;
  // O_DIRECT writes must be whole logical blocks of the device.
  if (writer_options.write_unit != 0)
    writer_options.write_unit = std::min(link->send_sb_.block_size,
                                         std::max(writer_options.write_unit, link->send_volume_.logical_block_size()));
  link->writer_ =
      std::make_unique<BlockWriter>(*link->engine_, link->send_volume_.fd(), link->send_sb_, options.send_slot,
                                    link->epoch_, link->first_sequence_, writer_options, link->keys_.get());
  // The running record goes out before any block, so a reader can always tell our epoch from a
  // dead one's.
  StateRecord record = link->own_record(WriterStatus::running, now);
  seal_state_record(record, link->keys_.get(), link->state_out_.span());
  link->send_volume_.write_exact(link->state_out_.data(), kStateRecordStride,
                                 link->send_sb_.state_record_offset(options.send_slot));
  ++link->stats_.state_writes;
  link->next_heartbeat_ = now + options.heartbeat_interval;
  link->try_attach_receive_volume(now);
  return link;
}

void Link::recover_sequence(TimePoint now) {
  (void)now;
  epoch_ = random_epoch();
  AlignedBuffer buffer(kStateRecordStride, 4096);
  send_volume_.read_exact(buffer.data(), kStateRecordStride, send_sb_.state_record_offset(options_.send_slot));
  auto decoded = decode_state_record(buffer.span());
  if (decoded.error == DecodeError::all_zero || decoded.record.uuid != send_sb_.uuid ||
      decoded.record.status == WriterStatus::empty) {
    first_sequence_ = 1;  // a fresh volume (or one re-formatted since that record)
    stats_.start_sequence = first_sequence_;
    return;
  }
  if (decoded.error != DecodeError::none) {
    throw VolumeError(fmt::format("{}: own state record (slot {}) is unreadable: {}", send_volume_.path(),
                                  options_.send_slot, decoded.message));
  }
  heartbeat_ = decoded.record.heartbeat;
  uint64_t head = std::max<uint64_t>(decoded.record.head_sequence, 1);
  if (decoded.record.status == WriterStatus::clean_stop) {
    first_sequence_ = head;  // every write had completed; nothing can be in doubt
    stats_.start_sequence = first_sequence_;
    return;
  }
  // A crash: the record's head lags what reached the ring. Walk our own blocks past it.
  uint32_t lbs = send_volume_.logical_block_size();
  AlignedBuffer block(std::max<uint32_t>(lbs, 4096), 4096);
  uint64_t sequence = head;
  for (uint64_t walked = 0; walked < send_sb_.ring_blocks; ++walked, ++sequence) {
    send_volume_.read_exact(block.data(), lbs, send_sb_.block_offset(options_.send_slot, sequence));
    auto d = decode_block(std::span<const std::byte>(block.data(), lbs), send_sb_.block_size);
    // The header alone is enough: a torn block still proves its sequence was handed out.
    bool ours = (d.check == BlockCheck::ok || d.check == BlockCheck::need_more) &&
                d.header.volume_tag == send_sb_.volume_tag() && d.header.slot == options_.send_slot &&
                d.header.sequence == sequence;
    if (!ours) break;
    ++stats_.restart_scan_blocks;
  }
  first_sequence_ = sequence + kRestartSequenceGap;
  stats_.start_sequence = first_sequence_;
}

StateRecord Link::own_record(WriterStatus status, TimePoint now) const {
  StateRecord r;
  r.slot = options_.send_slot;
  r.uuid = send_sb_.uuid;
  r.epoch = epoch_;
  r.status = status;
  r.heartbeat = heartbeat_;
  r.head_sequence = writer_ ? writer_->durable_head() : first_sequence_;
  r.writer_monotonic_ns = to_ns(now);
  r.epoch_first_sequence = first_sequence_;
  if (reader_ && reader_->attached()) r.acks[options_.peer_slot] = reader_->consumed();
  if (keys_) r.auth = StateRecordAuth{0, echo_epoch_, echo_heartbeat_, {}};  // key id and tag: seal_state_record
  return r;
}

// A replayed record is authentic, so with keys the echo decides: the peer must have read one of
// our heartbeats of this epoch lately (within dead_after, plus two heartbeats of slack for the
// read and write intervals on its side), and nothing may go back from the last record accepted.
// Someone replaying old records can then only show again what the peer itself last wrote.
bool Link::confirms_live_peer(const StateRecord& r) const {
  if (!r.auth || r.auth->peer_epoch != epoch_ || r.auth->peer_heartbeat > heartbeat_) return false;
  uint64_t window = options_.dead_after / options_.heartbeat_interval + 2;
  if (heartbeat_ - r.auth->peer_heartbeat > window) return false;
  if (!accepted_peer_) return true;
  const AcceptedPeer& last = *accepted_peer_;
  if (r.auth->peer_heartbeat < last.echo_heartbeat) return false;
  return r.epoch != last.epoch || (r.heartbeat >= last.heartbeat && r.head_sequence >= last.head);
}

void Link::try_attach_receive_volume(TimePoint now) {
  next_volume_probe_ = now + options_.heartbeat_interval;
  const Volume& volume = recv_volume();
  auto checked = probe_formatted_superblock(volume);
  if (!checked.superblock) {
    peer_.set_no_volume(now);
    return;
  }
  const Superblock& sb = *checked.superblock;
  if (options_.peer_slot >= sb.slot_count)
    throw VolumeError(fmt::format("{}: peer slot {} does not exist (the volume has {} slots)", volume.path(),
                                  options_.peer_slot, sb.slot_count));
  if (recv_volume_ && sb.uuid == send_sb_.uuid && options_.peer_slot == options_.send_slot)
    throw VolumeError(fmt::format("{}: has the same UUID and slot as the send volume {}; it must be the peer's",
                                  volume.path(), send_volume_.path()));
  recv_sb_ = sb;
  reader_ = std::make_unique<BlockReader>(*engine_, volume.fd(), sb, options_.peer_slot, volume.logical_block_size(),
                                          options_.reader, keys_.get());
  next_peer_read_ = now;
}

size_t Link::send(std::span<const FrameSpan> frames, TimePoint now) {
  size_t taken = writer_->send(frames, now);
  writer_->flush(now);
  if (taken > 0 && reader_) reader_->expect_reply(now);
  return taken;
}

void Link::reap(Nanos wait, TimePoint& now) {
  std::array<IoCompletion, 64> done;
  size_t n = engine_->reap(done, wait);
  if (n > 0 || wait.count() > 0) now = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    uint32_t index = tag_index(done[i].tag);
    switch (tag_owner(done[i].tag)) {
      case IoOwner::writer:
        writer_->on_complete(index, done[i].result, now);
        break;
      case IoOwner::reader:
        if (reader_) reader_->on_complete(index, done[i].result, now);
        break;
      case IoOwner::state:
        if (index == kStateWrite)
          on_state_write_done(done[i].result);
        else
          on_state_read_done(done[i].result, now);
        break;
    }
  }
}

void Link::run_once(FrameSink& sink, Nanos max_wait) {
  TimePoint now = Clock::now();
  reap(Nanos{0}, now);
  if (!reader_ && now >= next_volume_probe_) try_attach_receive_volume(now);
  if (reader_) reader_->deliver(sink, now);
  if (peer_.tick(now)) writer_->set_reader_progress(writer_->next_sequence(), false);
  // State records first: queued behind a burst of block I/O, a 4 KiB record would carry its
  // acknowledgement (and the peer's writer, holding for it) only after all of that.
  maybe_write_state(now);
  maybe_read_peer_state(now);
  writer_->flush(now);
  if (reader_) reader_->poll(now);

  if (max_wait.count() <= 0) return;
  auto wake = next_wakeup();
  Nanos wait = max_wait;
  if (wake) wait = std::clamp(std::chrono::duration_cast<Nanos>(*wake - now), Nanos{0}, max_wait);
  if (wait.count() <= 0) return;
  if (engine_->in_flight() > 0) {
    reap(wait, now);
    if (reader_) reader_->deliver(sink, now);
  } else {
    std::this_thread::sleep_for(wait);
  }
}

std::optional<TimePoint> Link::next_wakeup() const {
  std::optional<TimePoint> when;
  auto consider = [&](std::optional<TimePoint> t) {
    if (t && (!when || *t < *when)) when = t;
  };
  consider(state_write_due());
  consider(writer_->next_deadline());
  if (reader_) {
    consider(reader_->next_poll());
    consider(peer_read_due());
  } else {
    consider(next_volume_probe_);
  }
  return when;
}

uint64_t Link::consumed_ack() const { return reader_ && reader_->attached() ? reader_->consumed() : 0; }

std::optional<TimePoint> Link::state_write_due() const {
  if (state_write_in_flight_) return std::nullopt;
  TimePoint due = next_heartbeat_;
  uint64_t ack = consumed_ack();
  if (recv_sb_ && ack != published_ack_) {
    // Progress goes out an interval after the last record, or at once after an eighth of the ring.
    bool eighth = ack >= published_ack_ + std::max<uint64_t>(1, recv_sb_->ring_blocks / 8);
    due = std::min(due, eighth ? TimePoint{} : published_at_ + options_.ack_interval);
  }
  return due;
}

std::optional<TimePoint> Link::peer_read_due() const {
  if (!reader_ || state_read_in_flight_) return std::nullopt;
  // A writer holding for a fresh acknowledgement (or dropping until one shows room), or a reader
  // puzzled by an epoch, asks sooner than the heartbeat.
  bool urgent = writer_->wants_fresh_ack() || writer_->ring_full() || reader_->wants_writer_state();
  if (!urgent) return next_peer_read_;
  return std::min(next_peer_read_, last_peer_read_ + options_.urgent_read_interval);
}

void Link::maybe_write_state(TimePoint now) {
  auto due = state_write_due();
  if (!due || now < *due) return;
  if (now >= next_heartbeat_) {
    ++heartbeat_;
    next_heartbeat_ = now + options_.heartbeat_interval;
  }
  StateRecord record = own_record(WriterStatus::running, now);
  published_ack_ = record.acks[options_.peer_slot];
  published_at_ = now;
  seal_state_record(record, keys_.get(), state_out_.span());
  IoRequest request{IoOp::write,
                    send_volume_.fd(),
                    state_out_.data(),
                    kStateRecordStride,
                    send_sb_.state_record_offset(options_.send_slot),
                    make_tag(IoOwner::state, kStateWrite)};
  if (engine_->submit(std::span<const IoRequest>(&request, 1)) == 1) {
    state_write_in_flight_ = true;
    ++stats_.state_writes;
  }
}

void Link::on_state_write_done(int32_t result) {
  state_write_in_flight_ = false;
  if (result != static_cast<int32_t>(kStateRecordStride)) {
    ++stats_.io_errors_state;
    next_heartbeat_ = Clock::now();  // try again at once; a missed heartbeat looks like death
  }
}

void Link::maybe_read_peer_state(TimePoint now) {
  auto due = peer_read_due();
  if (!due || now < *due) return;
  IoRequest request{IoOp::read,
                    recv_volume().fd(),
                    state_in_.data(),
                    kStateRecordStride,
                    recv_sb_->state_record_offset(options_.peer_slot),
                    make_tag(IoOwner::state, kStateRead)};
  if (engine_->submit(std::span<const IoRequest>(&request, 1)) == 1) {
    state_read_in_flight_ = true;
    peer_read_ticket_ = writer_->ack_read_ticket();
    auto held_since = writer_->holding_since();
    peer_read_can_confirm_ = !held_since || now - *held_since >= 2 * options_.ack_interval;
    reader_->clear_wants_writer_state();
    ++stats_.state_reads;
    last_peer_read_ = now;
    if (now >= next_peer_read_) next_peer_read_ = now + options_.heartbeat_interval;
  }
}

void Link::on_state_read_done(int32_t result, TimePoint now) {
  state_read_in_flight_ = false;
  if (result != static_cast<int32_t>(kStateRecordStride)) {
    ++stats_.io_errors_state;
    peer_.tick(now);
    return;
  }
  auto decoded = decode_state_record(state_in_.span());
  std::optional<StateRecord> record;
  if (decoded.error == DecodeError::none && decoded.record.uuid == recv_sb_->uuid &&
      decoded.record.slot == options_.peer_slot) {
    const StateRecord& r = decoded.record;
    // Unauthentic (forged, altered, another key, or keys on one side only): as good as unreadable,
    // so no one without the key can show the peer alive, move our reader or lift our writer's hold.
    if (authenticate_state_record(keys_.get(), state_in_.span(), r) != AuthResult::accepted) {
      ++stats_.state_unreadable;
      ++stats_.state_auth_failed;
      peer_.tick(now);
      return;
    }
    if (keys_) {
      echo_epoch_ = r.epoch;
      echo_heartbeat_ = r.heartbeat;
      if (!confirms_live_peer(r)) {
        ++stats_.state_unconfirmed;
        peer_.tick(now);
        return;
      }
      accepted_peer_ = AcceptedPeer{r.auth->peer_heartbeat, r.epoch, r.heartbeat, r.head_sequence};
    }
    record = r;
  } else if (decoded.error != DecodeError::all_zero) {
    ++stats_.state_unreadable;  // torn by a concurrent write, or corrupt: judge by the next one
    peer_.tick(now);
    return;
  }
  peer_.observe(record, now);
  if (record && record->status != WriterStatus::empty) {
    WriterView view{record->epoch, record->epoch_first_sequence, record->head_sequence, record->writer_monotonic_ns,
                    now};
    if (!reader_->attached())
      reader_->attach(view, now);
    else
      reader_->note_writer(view);
  }
  uint64_t ack = record ? record->acks[options_.send_slot] : 0;
  bool alive = peer_.alive() || peer_.state() == PeerState::unknown;
  if (peer_read_can_confirm_)
    writer_->set_reader_progress(ack, alive, peer_read_ticket_);
  else
    writer_->set_reader_progress(ack, alive);  // may show room; too early to prove there is none
}

void Link::update_timers(const LinkOptions& options) {
  if (options.dead_after < 3 * options.heartbeat_interval)
    throw std::invalid_argument("dead_after must be at least 3 heartbeat intervals");
  options_.heartbeat_interval = options.heartbeat_interval;
  options_.dead_after = options.dead_after;
  options_.ack_interval = options.ack_interval;
  options_.urgent_read_interval = options.urgent_read_interval;
  options_.reader = options.reader;
  options_.writer.flush_deadline = options.writer.flush_deadline;
  options_.writer.retry_backoff = options.writer.retry_backoff;
  peer_.set_dead_after(options.dead_after);
  writer_->set_flush_deadline(options.writer.flush_deadline);
  if (reader_) reader_->set_options(options.reader);
}

void Link::set_keys(std::shared_ptr<const Keyring> keys, TimePoint now) {
  writer_->set_keys(keys.get(), now);
  if (reader_) reader_->set_keys(keys.get());
  // The old keyring may go only now: the writer sealed its partial block with it just above.
  keys_ = std::move(keys);
}

void Link::stop(Nanos timeout) {
  TimePoint now = Clock::now();
  TimePoint deadline = now + timeout;
  writer_->flush_all(now);
  while ((!writer_->idle() || state_write_in_flight_) && now < deadline) {
    reap(std::chrono::milliseconds(1), now);
    writer_->flush_all(now);
  }
  StateRecord record = own_record(WriterStatus::clean_stop, now);
  ++heartbeat_;
  record.heartbeat = heartbeat_;
  seal_state_record(record, keys_.get(), state_out_.span());
  send_volume_.write_exact(state_out_.data(), kStateRecordStride, send_sb_.state_record_offset(options_.send_slot));
  ++stats_.state_writes;
}

}  // namespace blockxport
