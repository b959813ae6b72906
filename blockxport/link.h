// One node's end of the transport: a writer into its slot of the send volume, a reader of the
// peer's slot on the receive volume, and the state records that carry heartbeats and
// acknowledgements between them. Single-threaded: the owner calls run_once() from its loop.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "blockxport/aligned_buffer.h"
#include "blockxport/block_auth.h"
#include "blockxport/clock.h"
#include "blockxport/format.h"
#include "blockxport/io_engine.h"
#include "blockxport/peer_monitor.h"
#include "blockxport/reader.h"
#include "blockxport/volume.h"
#include "blockxport/writer.h"

namespace blockxport {

struct LinkOptions {
  std::string send_path;
  std::string recv_path;
  uint32_t send_slot = 0;                       // ours on the send volume
  uint32_t peer_slot = 0;                       // the peer's on the receive volume
  bool allow_loopback = false;                  // send and receive the same slot of one volume (benchmarks, tests)
  std::optional<uint32_t> expected_block_size;  // the configuration's, checked against the send volume
  EngineKind engine = EngineKind::automatic;
  bool open_dsync = false;   // O_DSYNC on the send volume
  bool write_dsync = false;  // RWF_DSYNC on every block write
  WriterOptions writer;
  ReaderOptions reader;
  Nanos heartbeat_interval{100'000'000};
  Nanos dead_after{1'000'000'000};
  // While the reader consumes, its acknowledgement is published at least this often (and after
  // every eighth of the ring), so the peer's writer, which may be holding for a fresh one, sees
  // progress within a few milliseconds. Bounded: one 4 KiB write per interval at most.
  // A writer holding because its ring looks full takes a read of the peer's record as proof that
  // the ring is full (and starts dropping) only if the read began two of these intervals after
  // the hold did: by then a peer that consumed anything has published it. (The peer's setting is
  // assumed to be no longer than ours.)
  Nanos ack_interval{2'000'000};
  // Reads of the peer's record outside the heartbeat (a writer holding for a fresh
  // acknowledgement, a reader puzzled by an epoch) are at most this frequent.
  Nanos urgent_read_interval{1'000'000};
  // Authenticate (and, if they say so, encrypt) blocks and state records; null: plain ones.
  // Not a timer: update_timers leaves the keys alone, set_keys changes them.
  std::shared_ptr<const Keyring> keys;
};

struct LinkStats {
  uint64_t state_writes = 0;
  uint64_t state_reads = 0;
  uint64_t state_unreadable = 0;   // the peer's record failed its checks
  uint64_t state_auth_failed = 0;  // ... of which its authentication (also counted unreadable)
  // With keys: authentic peer records that are no proof of life yet, because they do not echo one
  // of our recent heartbeats or go back in time (a replay, or a peer that has not read us lately).
  uint64_t state_unconfirmed = 0;
  uint64_t io_errors_state = 0;
  uint64_t start_sequence = 0;
  uint64_t restart_scan_blocks = 0;  // our own blocks found past the recorded head at start
};

// A gap a restarted writer leaves after the last block it finds, larger than any queue depth, so
// no sequence that might have been in flight when the previous instance died is ever reused.
inline constexpr uint64_t kRestartSequenceGap = 64;

class Link {
 public:
  // Opens and checks the volumes, recovers the sequence from the send volume, and writes a
  // running state record with a new epoch. Throws VolumeError or std::invalid_argument with a
  // one-line message naming the volume and what is wrong.
  static std::unique_ptr<Link> open(const LinkOptions& options, TimePoint now = Clock::now());
  ~Link();

  // Frames to send, in order; returns how many were taken (see BlockWriter::send).
  size_t send(std::span<const FrameSpan> frames, TimePoint now);
  // Reaps completions and does whatever is due (writes, polls, heartbeats, peer checks); if
  // nothing is due it waits up to `max_wait` for a completion or the next deadline.
  void run_once(FrameSink& sink, Nanos max_wait);
  // Flushes what is queued, waits for the writes, and records a clean stop for the peer.
  void stop(Nanos timeout = Nanos{5'000'000'000});

  std::string_view engine_name() const { return engine_->name(); }
  // For an epoll loop: readable when I/O completed (-1: the engine has none; poll instead).
  int completion_fd() const { return engine_->completion_fd(); }
  void drain_completion_fd() { engine_->drain_completion_fd(); }
  // Applies new timers (heartbeat, liveness, polling, flush deadline, frame age) to a live link;
  // depths and volumes stay as they are.
  void update_timers(const LinkOptions& options);
  // New keys on a live link (a rolling key change): blocks and records sealed from now on use
  // them, and everything read from now on is checked against them.
  void set_keys(std::shared_ptr<const Keyring> keys, TimePoint now = Clock::now());
  const Keyring* keys() const { return keys_.get(); }
  const Superblock& send_superblock() const { return send_sb_; }
  const std::optional<Superblock>& recv_superblock() const { return recv_sb_; }
  const Volume& send_volume() const { return send_volume_; }
  uint64_t epoch() const { return epoch_; }
  const BlockWriter& writer() const { return *writer_; }
  const BlockReader* reader() const { return reader_.get(); }
  const PeerMonitor& peer() const { return peer_; }
  const LinkStats& stats() const { return stats_; }
  std::optional<TimePoint> next_wakeup() const;

 private:
  Link(const LinkOptions& options, Volume send, std::optional<Volume> recv);
  void recover_sequence(TimePoint now);
  void try_attach_receive_volume(TimePoint now);
  void reap(Nanos wait, TimePoint& now);
  void on_state_write_done(int32_t result);
  void on_state_read_done(int32_t result, TimePoint now);
  void maybe_write_state(TimePoint now);
  void maybe_read_peer_state(TimePoint now);
  // When the next state record write or peer record read is due; nothing while one is in flight
  // (its completion is what to wait for) or when none is wanted.
  std::optional<TimePoint> state_write_due() const;
  std::optional<TimePoint> peer_read_due() const;
  uint64_t consumed_ack() const;
  StateRecord own_record(WriterStatus status, TimePoint now) const;
  // With keys: whether an authentic peer record proves the peer alive now (see state_unconfirmed).
  bool confirms_live_peer(const StateRecord& record) const;
  const Volume& recv_volume() const { return recv_volume_ ? *recv_volume_ : send_volume_; }

  LinkOptions options_;
  Volume send_volume_;
  std::optional<Volume> recv_volume_;  // empty in loopback: the send volume is read back
  std::unique_ptr<IoEngine> engine_;
  Superblock send_sb_;
  std::optional<Superblock> recv_sb_;
  uint64_t epoch_ = 0;
  uint64_t first_sequence_ = 1;
  uint64_t heartbeat_ = 0;
  std::unique_ptr<BlockWriter> writer_;
  std::unique_ptr<BlockReader> reader_;
  PeerMonitor peer_;

  AlignedBuffer state_out_;
  AlignedBuffer state_in_;
  bool state_write_in_flight_ = false;
  bool state_read_in_flight_ = false;
  uint64_t published_ack_ = 0;
  TimePoint published_at_{};
  TimePoint next_heartbeat_{};
  TimePoint next_peer_read_{};
  TimePoint last_peer_read_{};
  uint64_t peer_read_ticket_ = 0;       // the writer's ack ticket when the read in flight began ...
  bool peer_read_can_confirm_ = false;  // ... and whether it began late enough to confirm a hold
  TimePoint next_volume_probe_{};
  LinkStats stats_;

  std::shared_ptr<const Keyring> keys_;
  // The last authentic peer record we read, echoed in ours: the peer's proof that we are live.
  uint64_t echo_epoch_ = 0;
  uint64_t echo_heartbeat_ = 0;
  // The last peer record accepted as proof of life: later ones may not go back from it.
  struct AcceptedPeer {
    uint64_t echo_heartbeat = 0, epoch = 0, heartbeat = 0, head = 0;
  };
  std::optional<AcceptedPeer> accepted_peer_;
};

}  // namespace blockxport
