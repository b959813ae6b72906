// The state records, apart from the rings (as sanlock keeps its delta leases apart from its
// leader code): our own record (epoch, heartbeat, head, acknowledgements, and with keys the echo
// of every peer record we read) written to our slot on its timers, and the peers' records read
// from the state table in one contiguous read and checked one slot at a time: CRC, volume and
// slot, authentication, and with keys the replay check. It knows nothing of frames: the link
// tells it our progress and hears what each peer's record says.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "blockxport/aligned_buffer.h"
#include "blockxport/block_auth.h"
#include "blockxport/clock.h"
#include "blockxport/format.h"
#include "blockxport/io_engine.h"

namespace blockxport {

struct StateExchangeOptions {
  uint32_t record_version = kStateRecordVersion1;  // 1: a mirrored pair; 2: a shared LUN's slot
  std::string owner;                               // version 2: the node's name ...
  std::string ifname;                              // ... and interface
  uint64_t started_unix_ns = 0;
  Nanos heartbeat_interval{100'000'000};
  Nanos dead_after{1'000'000'000};
  Nanos ack_interval{2'000'000};
  Nanos urgent_read_interval{1'000'000};
};

// What our record publishes besides the heartbeat.
struct OwnProgress {
  uint64_t head = 0;                       // every sequence below is on the volume
  std::array<uint64_t, kMaxSlots> acks{};  // consumed of each writer slot we read
};

enum class PeerRecordOutcome : uint8_t {
  accepted,     // `record` is the peer's, authentic, and (with keys) proof of life
  empty,        // never written, or from an earlier format of the volume
  unreadable,   // torn by a concurrent write, or corrupt: judge by the next one
  auth_failed,  // not authentic (also counted unreadable)
  unconfirmed,  // authentic, but no proof of life yet (see state_unconfirmed)
};

struct PeerRecordObservation {
  uint32_t slot = 0;
  PeerRecordOutcome outcome = PeerRecordOutcome::empty;
  StateRecord record;  // when accepted
};

struct StateExchangeStats {
  uint64_t state_writes = 0;
  uint64_t state_reads = 0;
  uint64_t state_unreadable = 0;
  uint64_t state_auth_failed = 0;
  uint64_t state_unconfirmed = 0;
  uint64_t io_errors_state = 0;
};

class StateExchange {
 public:
  StateExchange(IoEngine& engine, int own_fd, const Superblock& own_sb, uint32_t own_slot, uint64_t epoch,
                uint64_t first_sequence, uint64_t heartbeat, const StateExchangeOptions& options,
                const Keyring* keys);

  // Peers' records are read from `fd` (a volume formatted as `sb`), slots `first` to `last`
  // inclusive in one read; `peers` are the slots whose records are reported (ours is checked for
  // another writer, in a shared table).
  void watch(int fd, const Superblock& sb, std::vector<uint32_t> peers);
  bool watching() const { return watch_fd_ >= 0; }

  StateRecord own_record(WriterStatus status, TimePoint now, const OwnProgress& progress) const;
  // Seals `record` into the write buffer and returns the whole stride (for a synchronous write).
  std::span<const std::byte> seal(const StateRecord& record);

  // The record write: a heartbeat, a head that moved, or acknowledgements (an interval after the
  // last record; acks at once after an eighth of `ack_ring_blocks`). Nothing while one is in flight.
  std::optional<TimePoint> write_due(const OwnProgress& progress, uint64_t ack_ring_blocks) const;
  void maybe_write(TimePoint now, const OwnProgress& progress, uint64_t ack_ring_blocks);
  void on_write_done(int32_t result);
  bool write_in_flight() const { return write_in_flight_; }
  // Records written synchronously by the owner (the whole stride, sealed): the running one at
  // start, before any block, and a clean stop's after the last block.
  std::span<const std::byte> running_record(const OwnProgress& progress, TimePoint now);
  std::span<const std::byte> clean_stop_record(const OwnProgress& progress, TimePoint now);

  // The table read: every heartbeat, urgently (rate-limited) when asked, and at `verdict` (the
  // liveness deadline of a peer) when no read has been issued since it.
  std::optional<TimePoint> read_due(bool urgent, std::optional<TimePoint> verdict = std::nullopt) const;
  bool maybe_read(TimePoint now, bool urgent, std::optional<TimePoint> verdict = std::nullopt);  // true: a read began
  std::vector<PeerRecordObservation> on_read_done(int32_t result);
  // When the read in flight, or the last one completed, was issued (one is in flight at a time).
  TimePoint last_read_issued() const { return last_read_; }
  // Our slot holds another writer's record: a second node writes it (shared table only).
  const std::optional<StateRecord>& usurper() const { return usurper_; }

  uint64_t epoch() const { return epoch_; }
  uint64_t first_sequence() const { return first_sequence_; }
  uint64_t heartbeat() const { return heartbeat_; }
  void set_timers(Nanos heartbeat_interval, Nanos dead_after, Nanos ack_interval, Nanos urgent_read_interval);
  void set_keys(const Keyring* keys) { keys_ = keys; }
  const StateExchangeStats& stats() const { return stats_; }

 private:
  // With keys: whether an authentic record proves its writer alive now.
  bool confirms_live_peer(uint32_t slot, const StateRecord& record) const;
  PeerRecordObservation check_slot(uint32_t slot, std::span<const std::byte> bytes);

  IoEngine& engine_;
  int own_fd_;
  Superblock own_sb_;
  uint32_t own_slot_;
  uint64_t epoch_;
  uint64_t first_sequence_;
  uint64_t heartbeat_;
  StateExchangeOptions options_;
  const Keyring* keys_;

  AlignedBuffer out_;
  AlignedBuffer in_;
  bool write_in_flight_ = false;
  bool read_in_flight_ = false;
  std::array<uint64_t, kMaxSlots> published_acks_{};
  uint64_t published_head_ = 0;
  TimePoint published_at_{};
  TimePoint next_heartbeat_{};
  TimePoint heartbeat_counted_at_{};  // the last time the heartbeat counter moved
  TimePoint next_read_{};
  TimePoint last_read_{};

  int watch_fd_ = -1;
  Superblock watch_sb_;
  uint32_t first_slot_ = 0;
  uint32_t slot_span_ = 0;
  std::vector<uint32_t> peers_;

  // With keys, per writer slot: the last authentic record read (echoed in ours, the peer's proof
  // that we are live), and the last one accepted as proof of life (later ones may not go back).
  std::array<StateEcho, kMaxSlots> echoes_{};
  struct Accepted {
    uint64_t echo_heartbeat = 0, epoch = 0, heartbeat = 0, head = 0;
  };
  std::array<std::optional<Accepted>, kMaxSlots> accepted_{};
  std::optional<StateRecord> usurper_;
  StateExchangeStats stats_;
};

}  // namespace blockxport
