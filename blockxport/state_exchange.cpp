#include "blockxport/state_exchange.h"

#include <algorithm>
#include <stdexcept>

#include "blockxport/io_tags.h"
#include "blockxport/volume.h"

namespace blockxport {
namespace {

enum StateTag : uint32_t { kStateWrite = 0, kStateRead = 1 };

}  // namespace

StateExchange::StateExchange(IoEngine& engine, int own_fd, const Superblock& own_sb, uint32_t own_slot,
                             uint64_t epoch, uint64_t first_sequence, uint64_t heartbeat,
                             const StateExchangeOptions& options, const Keyring* keys)
    : engine_(engine),
      own_fd_(own_fd),
      own_sb_(own_sb),
      own_slot_(own_slot),
      epoch_(epoch),
      first_sequence_(first_sequence),
      heartbeat_(heartbeat),
      options_(options),
      keys_(keys),
      out_(kStateRecordStride, 4096),
      in_(kStateRecordStride, 4096) {}

void StateExchange::watch(int fd, const Superblock& sb, std::vector<uint32_t> peers) {
  if (peers.empty()) throw std::invalid_argument("no peer slots to watch");
  watch_fd_ = fd;
  watch_sb_ = sb;
  peers_ = std::move(peers);
  uint32_t first = *std::min_element(peers_.begin(), peers_.end());
  uint32_t last = *std::max_element(peers_.begin(), peers_.end());
  // In our own table our slot rides along when it lies inside the span anyway: a second writer on
  // it shows at no extra cost.
  if (sb.uuid == own_sb_.uuid && peers_.size() > 1) {
    first = std::min(first, own_slot_);
    last = std::max(last, own_slot_);
  }
  first_slot_ = first;
  slot_span_ = last - first + 1;
  in_ = AlignedBuffer(size_t{slot_span_} * kStateRecordStride, 4096);
  next_read_ = Clock::now();
}

StateRecord StateExchange::own_record(WriterStatus status, TimePoint now, const OwnProgress& progress) const {
  StateRecord r;
  r.version = options_.record_version;
  r.slot = own_slot_;
  r.uuid = own_sb_.uuid;
  r.epoch = epoch_;
  r.status = status;
  r.heartbeat = heartbeat_;
  r.head_sequence = progress.head;
  r.writer_monotonic_ns = to_ns(now);
  r.epoch_first_sequence = first_sequence_;
  r.acks = progress.acks;
  r.owner = options_.owner;
  r.ifname = options_.ifname;
  r.started_unix_ns = options_.started_unix_ns;
  if (keys_) {
    StateRecordAuth& auth = r.auth.emplace();
    auth.echoes = echoes_;
    if (!peers_.empty()) {  // version 1: the one peer's
      auth.peer_epoch = echoes_[peers_.front()].epoch;
      auth.peer_heartbeat = echoes_[peers_.front()].heartbeat;
    }
  }
  return r;
}

std::span<const std::byte> StateExchange::seal(const StateRecord& record) {
  seal_state_record(record, keys_, out_.span());
  return out_.span();
}

std::optional<TimePoint> StateExchange::write_due(const OwnProgress& progress, uint64_t ack_ring_blocks) const {
  if (write_in_flight_) return std::nullopt;
  TimePoint due = next_heartbeat_;
  // Our head goes out an interval after the blocks that moved it: a record is never staler than
  // that while we write, so a reader joining by it knows what is old (see Link's attach), and an
  // idle reader can learn from the table alone that a ring moved.
  if (progress.head != published_head_) due = std::min(due, published_at_ + options_.ack_interval);
  uint64_t eighth = std::max<uint64_t>(1, ack_ring_blocks / 8);
  uint64_t noticeable = std::max<uint64_t>(1, ack_ring_blocks / 32);
  for (uint32_t slot : peers_) {
    uint64_t ack = progress.acks[slot], published = published_acks_[slot];
    if (ack == published) continue;
    // Progress goes out at once after an eighth of the ring, an interval after the last record
    // once it is a 32nd (a writer holding for it sees room within milliseconds), and otherwise
    // with the heartbeat: the few blocks of sparse traffic never make a writer's ring look full.
    if (ack >= published + eighth) return TimePoint{};
    if (ack >= published + noticeable) due = std::min(due, published_at_ + options_.ack_interval);
  }
  return due;
}

void StateExchange::maybe_write(TimePoint now, const OwnProgress& progress, uint64_t ack_ring_blocks) {
  auto due = write_due(progress, ack_ring_blocks);
  if (!due || now < *due) return;
  // Any record resets the heartbeat timer (a head or ack record is as good a sign of life as a
  // heartbeat, so sparse traffic costs no extra writes), and the counter moves at most once an
  // interval, however often records go out (a streaming writer's every 2 ms): a peer's echo of it
  // stays within its replay window in heartbeats.
  if (now >= heartbeat_counted_at_ + options_.heartbeat_interval) {
    ++heartbeat_;
    heartbeat_counted_at_ = now;
  }
  next_heartbeat_ = now + options_.heartbeat_interval;
  StateRecord record = own_record(WriterStatus::running, now, progress);
  published_acks_ = record.acks;
  published_head_ = record.head_sequence;
  published_at_ = now;
  seal(record);
  IoRequest request{IoOp::write,         own_fd_, out_.data(), kStateRecordStride, own_sb_.state_record_offset(own_slot_),
                    make_tag(IoOwner::state, kStateWrite)};
  if (engine_.submit(std::span<const IoRequest>(&request, 1)) == 1) {
    write_in_flight_ = true;
    ++stats_.state_writes;
  }
}

void StateExchange::on_write_done(int32_t result) {
  write_in_flight_ = false;
  if (result != static_cast<int32_t>(kStateRecordStride)) {
    ++stats_.io_errors_state;
    next_heartbeat_ = Clock::now();  // try again at once; a missed heartbeat looks like death
  }
}

std::span<const std::byte> StateExchange::clean_stop_record(const OwnProgress& progress, TimePoint now) {
  ++heartbeat_;
  ++stats_.state_writes;
  return seal(own_record(WriterStatus::clean_stop, now, progress));
}

std::span<const std::byte> StateExchange::running_record(const OwnProgress& progress, TimePoint now) {
  ++stats_.state_writes;
  published_head_ = progress.head;
  published_at_ = now;
  heartbeat_counted_at_ = now;
  next_heartbeat_ = now + options_.heartbeat_interval;
  return seal(own_record(WriterStatus::running, now, progress));
}

std::optional<TimePoint> StateExchange::read_due(bool urgent, std::optional<TimePoint> verdict) const {
  if (!watching() || read_in_flight_) return std::nullopt;
  TimePoint due = next_read_;
  if (urgent) due = std::min(due, last_read_ + options_.urgent_read_interval);
  if (verdict && last_read_ < *verdict) due = std::min(due, *verdict);
  return due;
}

bool StateExchange::maybe_read(TimePoint now, bool urgent, std::optional<TimePoint> verdict) {
  auto due = read_due(urgent, verdict);
  if (!due || now < *due) return false;
  IoRequest request{IoOp::read,
                    watch_fd_,
                    in_.data(),
                    static_cast<uint32_t>(size_t{slot_span_} * kStateRecordStride),
                    watch_sb_.state_record_offset(first_slot_),
                    make_tag(IoOwner::state, kStateRead)};
  if (engine_.submit(std::span<const IoRequest>(&request, 1)) != 1) return false;
  read_in_flight_ = true;
  ++stats_.state_reads;
  last_read_ = now;
  if (now >= next_read_) next_read_ = now + options_.heartbeat_interval;
  return true;
}

// A replayed record is authentic, so with keys the echo decides: the peer must have read one of
// our heartbeats of this epoch lately (within dead_after, plus two heartbeats of slack for the
// read and write intervals on its side), and nothing may go back from the last record accepted.
// Someone replaying old records can then only show again what the peer itself last wrote.
bool StateExchange::confirms_live_peer(uint32_t slot, const StateRecord& r) const {
  StateEcho echo = r.echo_of(own_slot_);
  if (!r.auth || echo.epoch != epoch_ || echo.heartbeat > heartbeat_) return false;
  uint64_t window = options_.dead_after / options_.heartbeat_interval + 2;
  if (heartbeat_ - echo.heartbeat > window) return false;
  if (!accepted_[slot]) return true;
  const Accepted& last = *accepted_[slot];
  if (echo.heartbeat < last.echo_heartbeat) return false;
  return r.epoch != last.epoch || (r.heartbeat >= last.heartbeat && r.head_sequence >= last.head);
}

PeerRecordObservation StateExchange::check_slot(uint32_t slot, std::span<const std::byte> bytes) {
  PeerRecordObservation out;
  out.slot = slot;
  auto decoded = decode_state_record(bytes);
  if (decoded.error == DecodeError::all_zero) return out;
  if (decoded.error != DecodeError::none) {
    ++stats_.state_unreadable;
    out.outcome = PeerRecordOutcome::unreadable;
    return out;
  }
  const StateRecord& r = decoded.record;
  if (r.uuid != watch_sb_.uuid) return out;  // from before the volume's format
  if (r.slot != slot) {
    ++stats_.state_unreadable;
    out.outcome = PeerRecordOutcome::unreadable;
    return out;
  }
  // Unauthentic (forged, altered, another key, or keys on one side only): as good as unreadable,
  // so no one without the key can show the peer alive, move our reader or lift our writer's hold.
  if (authenticate_state_record(keys_, bytes, r) != AuthResult::accepted) {
    ++stats_.state_unreadable;
    ++stats_.state_auth_failed;
    out.outcome = PeerRecordOutcome::auth_failed;
    return out;
  }
  if (keys_) {
    echoes_[slot] = {r.epoch, r.heartbeat};
    if (!confirms_live_peer(slot, r)) {
      ++stats_.state_unconfirmed;
      out.outcome = PeerRecordOutcome::unconfirmed;
      return out;
    }
    accepted_[slot] = Accepted{r.echo_of(own_slot_).heartbeat, r.epoch, r.heartbeat, r.head_sequence};
  }
  out.outcome = PeerRecordOutcome::accepted;
  out.record = r;
  return out;
}

std::vector<PeerRecordObservation> StateExchange::on_read_done(int32_t result) {
  read_in_flight_ = false;
  std::vector<PeerRecordObservation> out;
  size_t expected = size_t{slot_span_} * kStateRecordStride;
  if (result != static_cast<int32_t>(expected)) {
    ++stats_.io_errors_state;
    for (uint32_t slot : peers_) out.push_back({slot, PeerRecordOutcome::unreadable, {}});
    return out;
  }
  auto record_bytes = [&](uint32_t slot) {
    return std::span<const std::byte>(in_.data() + size_t{slot - first_slot_} * kStateRecordStride,
                                      kStateRecordStride);
  };
  if (watch_sb_.uuid == own_sb_.uuid && own_slot_ >= first_slot_ && own_slot_ < first_slot_ + slot_span_) {
    // Our own record as the table shows it: anything of this volume but our epoch is a second writer.
    auto own = decode_state_record(record_bytes(own_slot_));
    if (own.error == DecodeError::none && own.record.uuid == own_sb_.uuid && own.record.epoch != epoch_ &&
        own.record.status == WriterStatus::running)
      usurper_ = own.record;
  }
  out.reserve(peers_.size());
  for (uint32_t slot : peers_) out.push_back(check_slot(slot, record_bytes(slot)));
  return out;
}

void StateExchange::set_timers(Nanos heartbeat_interval, Nanos dead_after, Nanos ack_interval,
                               Nanos urgent_read_interval) {
  options_.heartbeat_interval = heartbeat_interval;
  options_.dead_after = dead_after;
  options_.ack_interval = ack_interval;
  options_.urgent_read_interval = urgent_read_interval;
}

}  // namespace blockxport
