// The reader: polls the peer's ring on the receive volume, validates each block and hands its
// frames back strictly in sequence order. Survives torn blocks, blocks that become visible out of
// order, writer restarts (new epoch) and being lapped, and counts every block it cannot deliver.
//
// Idle, it polls the first logical block of the next sequence only. While data streams it reads
// ahead through a window that adapts to how far the writer really is ahead: one block wider each
// time the block at its edge was there, cut back to the first block that was not there yet (each
// read of an unwritten block is device time taken from the writer). Consecutive blocks of the
// window are read in one request, up to max_read_bytes, as they are contiguous in the ring
// except where it wraps.
//
// A damaged block (torn or corrupt for good, or one whose every read fails while the volume
// answers other reads) is waited for until torn_timeout after the reader learned that the writer
// is past it, then skipped and counted. That knowledge comes from the writer's state record (its
// head) or from a valid later block, and covers every sequence below it at once; each block also
// gets torn_timeout from the first read that found it bad. So a run of damaged blocks is skipped
// about one torn_timeout per read-ahead window after the writer is known past the run, not one
// torn_timeout per block (WriterPastTimes). Read-ahead keeps classifying blocks past a bad
// one, which is how a valid later block is found at all. A block that is not there at all (the
// older lap) may only be late behind a mirror whose state record ran ahead of its blocks: its
// timer runs from a valid later block, or, with only the record to go by, from when the reader
// began waiting for it (the mirror made no progress for torn_timeout).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "blockxport/aligned_buffer.h"
#include "blockxport/block_codec.h"
#include "blockxport/clock.h"
#include "blockxport/format.h"
#include "blockxport/io_engine.h"
#include "blockxport/latency_histogram.h"

namespace blockxport {

struct ReaderOptions {
  unsigned depth = 32;                   // most blocks read ahead while data streams (the window's limit)
  uint32_t max_read_bytes = 256 * 1024;  // consecutive blocks share one read up to this size
  Nanos spin_window{2'000'000};          // after the last data, poll back to back this long
  Nanos min_interval{50'000};            // then back off from this interval ...
  Nanos max_interval{1'000'000};         // ... doubling up to this one (the idle poll period)
  Nanos torn_timeout{100'000'000};       // how long an unreadable block is re-read before it is skipped
  Nanos max_age{0};                      // frames older than this are dropped, not delivered (0: no limit)
  // Idle, the reader parks: it stops polling the ring after this long without a delivery or a
  // send (0: never), and its owner wakes it when the writer's state record shows new blocks (one
  // read of the state table serves every reader). Sparse traffic (heartbeats) is then found by the
  // table read alone and does not unpark it; only a run of frames each within dense_gap of the
  // last (a stream, requests and their responses) makes it poll the ring again.
  Nanos park_after{0};
  Nanos dense_gap{10'000'000};
};

struct ReaderStats {
  uint64_t frames_delivered = 0;
  uint64_t bytes_delivered = 0;
  uint64_t blocks_delivered = 0;
  uint64_t reads = 0;
  uint64_t volume_bytes_read = 0;
  uint64_t empty_polls = 0;       // the next block was not there yet
  uint64_t readahead_misses = 0;  // blocks read ahead of the writer: not there yet, read again later
  uint64_t torn_rereads = 0;      // checksum mismatch, read again
  uint64_t corrupt_blocks = 0;    // never became valid; skipped
  uint64_t malformed_blocks = 0;  // checksum fine, records inconsistent; skipped
  uint64_t missing_blocks = 0;    // the writer moved past them and they never appeared; skipped
  uint64_t unreadable_blocks = 0; // of missing_blocks: every read of them failed (the rest of the volume read fine)
  uint64_t lapped_resyncs = 0;
  uint64_t blocks_lost_lapped = 0;
  uint64_t epoch_changes = 0;
  uint64_t restart_skipped_blocks = 0;  // sequences a restarted writer never used
  uint64_t stale_epoch_blocks = 0;      // valid blocks of an epoch that is not the writer's
  uint64_t skipped_on_attach = 0;       // already there when we attached: old traffic, not replayed
  uint64_t too_old_blocks = 0;          // older than max_age when read: dropped
  uint64_t too_old_frames = 0;
  uint64_t dropped_partial_frames = 0;
  uint64_t read_errors = 0;
  // Blocks that failed authentication: no tag, a key we do not hold, or a tag that does not verify
  // (forged, altered, or sealed for another volume, slot, epoch or sequence). Never delivered;
  // re-read like a torn block, then skipped (and counted corrupt) once the writer is past them.
  // Counted once per sequence, however often it is re-read.
  uint64_t auth_failed_blocks = 0;
  uint64_t auth_no_key_blocks = 0;  // authenticated blocks while no key is configured: never delivered
  // A shared LUN's blocks whose destinations leave us out (unicast among other nodes): consumed
  // in sequence, their frames neither decoded nor delivered. Of those, the ones whose payload
  // was never read at all (the header, read with the first logical block, sufficed).
  uint64_t blocks_not_for_us = 0;
  uint64_t bytes_not_for_us = 0;
  uint64_t payload_reads_saved = 0;
  // How old each delivered block was when delivered: from the writer's timestamp to now, the two
  // clocks joined by the smallest delay ever seen (see WriterClock), so it includes the storage
  // write, mirror and poll delay and errs young by at most that smallest delay.
  LatencyHistogram delivery_age;

  // Another reader's counters added in (a node's readers of several peer slots, as one total).
  void add(const ReaderStats& other);
};

// What happened to a reader that its owner should hear about once, when it happens (a log line,
// a status change), rather than find by comparing counters.
struct ReaderEvent {
  enum class Kind : uint8_t {
    epoch_change,  // the writer restarted: now following `epoch` from `sequence` (`count` sequences it never used)
    lapped,        // the writer overwrote blocks not yet read: resynced to `sequence`, `count` blocks lost
    damaged,       // `count` block(s) skipped as corrupt or malformed, the last at `sequence`
    missing,       // `count` block(s) skipped as never written or unreadable, the last at `sequence`
    too_old,       // a block older than max_age dropped with its `count` frames
  };
  Kind kind;
  uint64_t sequence = 0;
  uint64_t count = 0;
  uint64_t epoch = 0;
};
std::string_view reader_event_name(ReaderEvent::Kind kind);

class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // The frames of one block, in order; the views are valid only during the call.
  virtual void deliver(std::span<const FrameSpan> frames, const BlockHeader& block) = 0;
};

// What the writer's state record last said, as far as the reader cares.
struct WriterView {
  uint64_t epoch = 0;
  uint64_t first_sequence = 0;  // of that epoch
  uint64_t head = 0;            // every sequence below is written
  uint64_t monotonic_ns = 0;    // the writer's clock when it wrote the record
  TimePoint seen_at{};          // our clock when we read the record
  // On attach: blocks stamped before this (the writer's clock) are old traffic, skipped. 0: the
  // record's own time. An owner that knows how stale a record may be (a heartbeat) sets it later,
  // so nothing written between the record and our attach is taken for new.
  uint64_t old_before_ns = 0;
};

// Our estimate of the writer's clock. Every timestamp we see (a state record's, a block's) was
// taken before we saw it, so `our clock - its clock` at sight is the clock offset plus a delay;
// the smallest such value is the best bound on the offset. It may only err late, so ages err
// young, never old: a frame is never dropped as too old that was not. Two hosts' monotonic clocks
// drift apart (tens of ppm): the bound is let slip by kDriftPpm so a drift toward us is followed.
class WriterClock {
 public:
  static constexpr uint64_t kDriftPpm = 100;
  void reset() { offset_.reset(); }
  void observe(uint64_t writer_ns, TimePoint seen_at);
  // The writer's clock at `now`, if any timestamp has been seen.
  std::optional<uint64_t> writer_now(TimePoint now) const;

 private:
  std::optional<int64_t> offset_;  // our ns - writer ns, at its smallest
  TimePoint offset_at_{};
};

// When the reader learned that the writer is past each sequence: "past every sequence below
// `bound` since `since`". What is known only grows with the sequence, so the times never go down
// with it, and one entry covers a whole run of sequences (a state record's head, a later block).
class WriterPastTimes {
 public:
  // The writer is past every sequence below `bound`, as learned at `since`.
  void note(uint64_t bound, TimePoint since);
  // Since when the writer is known past `sequence`, if it is.
  std::optional<TimePoint> since(uint64_t sequence) const;
  // Sequences below `sequence` are consumed: what is known of them is no longer needed.
  void forget_below(uint64_t sequence);
  void clear() { entries_.clear(); }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint64_t bound;
    TimePoint since;
  };
  // Bounds rise, times never fall; a handful of entries at once (one per state record or
  // read-ahead block not yet consumed), merged beyond kMaxEntries.
  static constexpr size_t kMaxEntries = 64;
  std::vector<Entry> entries_;
};

class BlockReader {
 public:
  // `keys`: deliver only blocks authentic under them; null: only plain blocks.
  BlockReader(IoEngine& engine, int fd, const Superblock& superblock, uint32_t slot, uint32_t logical_block_size,
              const ReaderOptions& options, const Keyring* keys = nullptr);

  // Starts reading at the writer's head: what is already in the ring is old traffic and is
  // skipped, not replayed.
  void attach(const WriterView& writer, TimePoint now);
  void detach();
  bool attached() const { return attached_; }
  // Every fresh read of the writer's state record goes here.
  void note_writer(const WriterView& writer);
  void set_options(const ReaderOptions& options);
  void set_keys(const Keyring* keys) { keys_ = keys; }
  // Our slot on a shared LUN: blocks whose destinations leave it out are passed over (version 2
  // headers). Unset: every block is for us.
  void set_own_slot(uint32_t slot) { own_slot_ = slot; }

  // Our own node just sent: most traffic is request and response, so the answer is due within a
  // round trip. The back-off restarts from its shortest interval (no spinning), so an idle link
  // polls a few more times after each send and a reply waits about a quarter of its round trip,
  // not a whole idle interval.
  void expect_reply(TimePoint now, size_t frames = 1);
  // Parked: no polls of the ring until wake() (the owner saw the writer move) or dense traffic.
  bool parked() const { return parked_; }
  // Reads the ring once now (and on while what it finds keeps coming), then parks again unless
  // the traffic turns out dense.
  void wake(TimePoint now);
  void poll(TimePoint now);
  void on_complete(uint32_t slot_index, int32_t result, TimePoint now);
  // Hands every block that is next in sequence and ready to the sink; returns the block count.
  size_t deliver(FrameSink& sink, TimePoint now);

  // The highest sequence consumed (delivered or skipped): the reader's acknowledgement.
  uint64_t consumed() const { return next_ - 1; }
  uint64_t next_sequence() const { return next_; }
  uint64_t epoch() const { return epoch_; }
  // The reader saw something only the writer's state record can explain (an unknown epoch).
  bool wants_writer_state() const { return wants_writer_state_; }
  void clear_wants_writer_state() { wants_writer_state_ = false; }
  // When poll() has something to read; nothing while every read it could issue is in flight.
  std::optional<TimePoint> next_poll() const;
  const ReaderStats& stats() const { return stats_; }
  // Events since the last call, oldest first.
  std::vector<ReaderEvent> take_events() { return std::exchange(events_, {}); }
  // The read-ahead window now, and the most it may grow to.
  unsigned window() const { return streaming_ ? window_ : 1; }
  unsigned max_window() const { return static_cast<unsigned>(slots_.size()); }

 private:
  // not_yet: nothing (or the older lap) there; invalid: something there that does not check;
  // failed: the read of it failed.
  enum class SlotState : uint8_t { idle, reading, ready, not_yet, invalid, failed, lapped };
  struct ReadSlot {
    std::byte* memory = nullptr;  // B bytes of window_memory_, next to the following slot's
    SlotState state = SlotState::idle;
    uint64_t sequence = 0;
    uint32_t read_bytes = 0;  // of the block, once the read in flight lands
    uint32_t requested = 0;   // the read starting at this slot: its length ...
    uint32_t span = 0;        // ... and how many slots it fills
    bool discard = false;     // the window moved while this read was in flight
    bool alone = false;       // a read covering it failed: read it by itself, so one bad block fails only itself
    TimePoint read_at{};      // when its last read was submitted
    // Its reads have failed while reads beside them worked since then (a bad place, not an outage).
    std::optional<TimePoint> bad_since;
    // When a read first found it not valid: a block gets torn_timeout from then too, so one the
    // reader looks at only long after the writer passed it (a reader behind) still has its time.
    std::optional<TimePoint> unready_since;

    // The sequence whose failed authentication was counted here (once, however often re-read).
    uint64_t auth_failed_sequence = 0;
    BlockHeader header;
  };

  ReadSlot& slot_for(uint64_t sequence) { return slots_[sequence % slots_.size()]; }
  const ReadSlot& slot_for(uint64_t sequence) const { return slots_[sequence % slots_.size()]; }
  uint32_t index_of(uint64_t sequence) const { return static_cast<uint32_t>(sequence % slots_.size()); }
  // How many idle slots from `sequence` on one read can fill: contiguous on disk and in memory.
  size_t run_length(uint64_t sequence, size_t limit) const;
  void classify(ReadSlot& slot, TimePoint now);
  bool not_for_us_unread(const ReadSlot& slot, const BlockHeader& header, bool header_checked);
  // Checks (and decrypts) a block before anything acts on it; counts a failure.
  bool authentic(ReadSlot& slot, const BlockHeader& header);
  void note_readahead_miss(ReadSlot& slot);
  void advance(uint64_t to, TimePoint now);
  void resync(uint64_t to, TimePoint now);
  // Not valid (yet), and not (yet) skipped.
  static bool unready(SlotState state) {
    return state == SlotState::not_yet || state == SlotState::invalid || state == SlotState::failed;
  }
  // When an unready block may be skipped: torn_timeout after the writer was known past it (see
  // the top of this file for which knowledge counts for which state).
  std::optional<TimePoint> skip_deadline(const ReadSlot& slot) const;
  // Whether the block at next_ has waited long enough: past its deadline by a read made after it
  // (so a block that landed within the timeout is never skipped), and for a failed read, with a
  // read of the same volume that worked after it too (a lost volume is an outage, not a bad block).
  bool may_skip(const ReadSlot& slot, TimePoint now) const;
  // Unready blocks of the window that are read again: those past their deadline but read before
  // it, and those read before the last data arrived (the writer has moved since).
  void refresh_unready(TimePoint now);
  bool acceptable_epoch(uint64_t epoch, uint64_t sequence);
  bool too_old(const BlockHeader& header, TimePoint now) const;
  std::optional<uint64_t> age_ns(const BlockHeader& header, TimePoint now) const;
  void schedule_after_miss(TimePoint now);
  uint32_t round_to_logical(uint32_t bytes) const;

  IoEngine& engine_;
  int fd_;
  Superblock superblock_;
  uint32_t slot_;
  uint32_t own_slot_ = kMaxSlots;  // none: every block is for us
  uint32_t logical_block_size_;
  ReaderOptions options_;
  const Keyring* keys_;

  AlignedBuffer window_memory_;
  RegisteredMemory registered_;  // declared after window_memory_: unregistered before it is freed
  std::vector<ReadSlot> slots_;
  uint32_t max_read_blocks_ = 1;
  unsigned window_ = 1;
  FrameAssembler assembler_;
  std::vector<FrameSpan> frames_;

  bool attached_ = false;
  uint64_t epoch_ = 0;
  uint64_t next_ = 1;
  WriterView writer_;
  WriterClock writer_clock_;  // of the epoch in writer_
  uint64_t skip_written_before_ns_ = 0;
  bool skipping_old_ = false;
  bool continuous_ = false;
  bool streaming_ = false;
  bool wants_writer_state_ = false;
  uint32_t predicted_bytes_ = 0;
  TimePoint last_data_at_{};
  Nanos data_gap_{Nanos::max()};   // between the last two blocks delivered
  bool parked_ = false;
  bool woken_ = false;             // parked, but reading once for what the owner saw the writer write
  TimePoint last_delivery_{};      // of a block with frames (the dense-traffic test) ...
  TimePoint last_send_{};          // ... and of our own send (expect_reply)
  // Dense traffic: this many frames received (or sent) in a row, each batch within dense_gap of
  // the one before (a block of several frames counts them all: a TCP window arrives at once). A
  // heartbeat protocol's pairs (a token and its message) stay sparse.
  static constexpr unsigned kDenseStreak = 3;  // counted from 1: this many frames
  unsigned delivery_streak_ = 0;
  unsigned send_streak_ = 0;
  TimePoint next_poll_at_{};
  Nanos interval_{0};
  WriterPastTimes writer_past_;  // from state records and valid blocks
  WriterPastTimes blocks_past_;  // from valid blocks only
  std::optional<TimePoint> next_waiting_since_;  // the next block is not there, the record says it was written
  TimePoint last_good_read_at_{};  // when the last read that worked was submitted
  ReaderStats stats_;
  std::vector<ReaderEvent> events_;
  void push_event(ReaderEvent::Kind kind, uint64_t sequence, uint64_t count);
};

}  // namespace blockxport
