// One node's end of the transport: a writer into its slot, a reader per peer slot, and the state
// records (state_exchange.h) that carry heartbeats and acknowledgements between them.
//
// Two modes. A mirrored pair: we write our slot of the send volume and read the one peer's slot
// of the receive volume (the array's mirror of the peer's send volume). A shared LUN: one volume,
// we write our slot and read every other; the segment is every live node (a shared LUN's state
// table is one read, whatever the number of nodes). Single-threaded: the owner calls run_once()
// from its loop and takes the events it pushes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "blockxport/aligned_buffer.h"
#include "blockxport/block_auth.h"
#include "blockxport/clock.h"
#include "blockxport/format.h"
#include "blockxport/io_engine.h"
#include "blockxport/peer_monitor.h"
#include "blockxport/reader.h"
#include "blockxport/sequence_recovery.h"
#include "blockxport/slot_claim.h"
#include "blockxport/state_exchange.h"
#include "blockxport/transport_events.h"
#include "blockxport/volume.h"
#include "blockxport/writer.h"

namespace blockxport {

struct LinkOptions {
  // Shared LUN: `send_path` is the volume, `send_slot` ours, every other slot a peer; recv_path
  // and peer_slot are unused.
  bool shared = false;
  std::string send_path;
  std::string recv_path;
  uint32_t send_slot = 0;                       // ours on the send volume
  uint32_t peer_slot = 0;                       // the peer's on the receive volume
  bool allow_loopback = false;                  // send and receive the same slot of one volume (benchmarks, tests)
  std::optional<uint32_t> expected_block_size;  // the configuration's, checked against the send volume
  EngineKind engine = EngineKind::automatic;
  bool open_dsync = false;   // O_DSYNC on the send volume
  bool write_dsync = false;  // RWF_DSYNC on every block write
  bool fixed_buffers = true; // io_uring: register the block buffers once (IoEngine::register_memory)
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
  // Shared LUN: a live reader whose acknowledgement has not moved for this long while our ring is
  // full for it is no longer waited for: the writer laps it, and it counts what it lost (a NIC
  // whose queue overflowed). One slow node then holds the others' traffic at most this long.
  // 0: never (the pair's behaviour: a full ring drops at the writer, counted there).
  Nanos lap_after{0};
  // Shared LUN: who we are in our slot's record (the slot claim compares it).
  SlotOwner owner;
  Nanos claim_settle{50'000'000};
  // Authenticate (and, if they say so, encrypt) blocks and state records; null: plain ones.
  // Not a timer: update_timers leaves the keys alone, set_keys changes them.
  std::shared_ptr<const Keyring> keys;
};

struct LinkStats {
  uint64_t state_writes = 0;
  uint64_t state_reads = 0;
  uint64_t state_unreadable = 0;   // a peer's record failed its checks
  uint64_t state_auth_failed = 0;  // ... of which its authentication (also counted unreadable)
  // With keys: authentic peer records that are no proof of life yet, because they do not echo one
  // of our recent heartbeats or go back in time (a replay, or a peer that has not read us lately).
  uint64_t state_unconfirmed = 0;
  uint64_t io_errors_state = 0;
  uint64_t start_sequence = 0;
  uint64_t restart_scan_blocks = 0;  // our own blocks found past the recorded head at start
  uint64_t peers_lapped = 0;         // times a stalled live reader stopped being waited for
};

// One peer slot: its liveness, its reader (once its record shows a writer), and what it last
// acknowledged of our ring.
struct LinkPeer {
  explicit LinkPeer(uint32_t slot_, Nanos dead_after) : slot(slot_), monitor(dead_after) {}
  uint32_t slot;
  PeerMonitor monitor;
  std::unique_ptr<BlockReader> reader;
  uint64_t acked = 0;           // the highest sequence of ours it consumed (0: not reading us)
  TimePoint acked_moved_at{};   // when that last moved
  std::optional<TimePoint> full_since;  // our ring is full for it since (by its last acknowledgement)
  bool lapped_out = false;      // stalled while our ring was full for it: not waited for
  bool ever_seen = false;       // its record has shown a writer since we started
  TimePoint joined_at{};        // from then on, whatever its writer sends reaches us (see joined())
};

class Link {
 public:
  // Opens and checks the volumes, takes our slot (a shared LUN's: see slot_claim.h), recovers the
  // sequence and writes a running state record with a new epoch. Throws VolumeError (a slot owned
  // by a live node: SlotOwnedError) or std::invalid_argument with a one-line message naming the
  // volume and what is wrong.
  static std::unique_ptr<Link> open(const LinkOptions& options, TimePoint now = Clock::now());
  ~Link();

  // Frames to send, in order; returns how many were taken (see BlockWriter::send). A shared LUN's
  // `destinations[i]`: the peer slots frame i is for (see DestinationLearning); empty: all.
  size_t send(std::span<const FrameSpan> frames, TimePoint now, std::span<const uint64_t> destinations = {});
  // Reaps completions and does whatever is due (writes, polls, heartbeats, peer checks); if
  // nothing is due it waits up to `max_wait` for a completion or the next deadline.
  void run_once(FrameSink& sink, Nanos max_wait);
  // Flushes what is queued, waits for the writes, and records a clean stop for the peers.
  void stop(Nanos timeout = Nanos{5'000'000'000});
  // What happened since the last call, oldest first.
  std::vector<TransportEvent> take_events() { return std::exchange(events_, {}); }

  std::string_view engine_name() const { return engine_->name(); }
  // Requests that used registered memory (io_uring fixed buffers), of all the link submitted.
  uint64_t fixed_requests() const { return engine_->fixed_requests(); }
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
  bool shared() const { return options_.shared; }
  uint32_t own_slot() const { return options_.send_slot; }
  const Superblock& send_superblock() const { return send_sb_; }
  const std::optional<Superblock>& recv_superblock() const { return recv_sb_; }
  const Volume& send_volume() const { return send_volume_; }
  uint64_t epoch() const { return exchange_->epoch(); }
  SlotPrevious slot_previous() const { return slot_previous_; }
  const BlockWriter& writer() const { return *writer_; }
  const std::vector<LinkPeer>& peers() const { return peers_; }
  // Carrier: at least one peer alive, and being read.
  bool any_peer_alive() const;
  // The pair's peer (a shared LUN's first slot) is being read, and what it sends from now on is
  // delivered: its reader attached and what was stamped before we looked is behind us.
  bool joined(TimePoint now = Clock::now()) const;
  // The pair's one peer (a shared LUN's first peer slot): for what speaks of "the peer".
  const BlockReader* reader() const { return peers_.front().reader.get(); }
  const PeerMonitor& peer() const { return peers_.front().monitor; }
  LinkStats stats() const;
  // Every peer reader's counters added up (nullopt: no reader yet).
  std::optional<ReaderStats> reader_totals() const;
  // The least acknowledgement of our ring among the readers the writer waits for (0: none).
  uint64_t least_ack() const;
  std::optional<TimePoint> next_wakeup() const;

 private:
  Link(const LinkOptions& options, Volume send, std::optional<Volume> recv);
  void claim_and_start();
  void try_attach_receive_volume(TimePoint now);
  void reap(Nanos wait, TimePoint& now);
  OwnProgress progress() const;
  uint64_t ack_ring_blocks() const { return recv_sb_ ? recv_sb_->ring_blocks : send_sb_.ring_blocks; }
  bool wants_urgent_read() const;
  void on_peer_records(const std::vector<PeerRecordObservation>& seen, TimePoint now, bool fresh);
  void observe_peer(LinkPeer& peer, const PeerRecordObservation& seen, TimePoint issued, TimePoint now);
  // The earliest liveness deadline among the peers: a record read is issued then.
  std::optional<TimePoint> verdict_due() const;
  // Tells the writer how far it may go: the least acknowledgement among live readers of our ring.
  // `fresh`: from a read begun late enough to confirm a hold (see LinkOptions::ack_interval).
  void update_writer_flow(TimePoint now, bool fresh);
  void note_state(LinkPeer& peer, bool changed);
  void collect_reader_events(LinkPeer& peer);
  LinkPeer* peer_for_slot(uint32_t slot);
  const Volume& recv_volume() const { return recv_volume_ ? *recv_volume_ : send_volume_; }

  LinkOptions options_;
  Volume send_volume_;
  std::optional<Volume> recv_volume_;  // empty in a shared LUN or a loopback: the send volume is read
  std::unique_ptr<IoEngine> engine_;
  Superblock send_sb_;
  std::optional<Superblock> recv_sb_;
  SlotPrevious slot_previous_ = SlotPrevious::free;
  std::unique_ptr<StateExchange> exchange_;
  std::unique_ptr<BlockWriter> writer_;
  std::vector<LinkPeer> peers_;
  uint64_t peer_read_ticket_ = 0;       // the writer's ack ticket when the read in flight began ...
  bool peer_read_can_confirm_ = false;  // ... and whether it began late enough to confirm a hold
  TimePoint next_volume_probe_{};
  LinkStats stats_;  // ours; stats() adds the exchange's
  bool slot_lost_reported_ = false;
  std::vector<TransportEvent> events_;
  std::shared_ptr<const Keyring> keys_;
};

}  // namespace blockxport
