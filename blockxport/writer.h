// The writer: batches frames into fixed-size blocks and writes them, in sequence, into its slot's
// ring. Latency first (an idle link never waits to fill a block), group commit under load, flow
// control against the reader's acknowledgements, tail drop (counted) when the ring is full.
//
// Flow control. The acknowledgement the writer holds travels through the volume (the reader's
// state record) and is always somewhat old, so "the ring looks full" by it usually means "the
// ack is stale", not "the reader is a ring behind". The writer then holds: send() takes nothing
// (backpressure, as when every buffer is busy) and wants_fresh_ack() asks its owner for a read of
// the record begun after the hold began. Only when such a fresh acknowledgement still says the
// ring is full does the writer drop, and count, what does not fit; a live reader that has stopped
// consuming is thus never overwritten, and never blocks the writer for longer than one read.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "blockxport/aligned_buffer.h"
#include "blockxport/block_codec.h"
#include "blockxport/clock.h"
#include "blockxport/format.h"
#include "blockxport/io_engine.h"
#include "blockxport/latency_histogram.h"

namespace blockxport {

struct WriterOptions {
  unsigned queue_depth = 8;        // block writes in flight at once
  Nanos flush_deadline{200'000};   // longest a partial block waits while writes are in flight
  Nanos retry_backoff{1'000'000};  // wait before writing a failed block again
  // A block's write covers its used bytes rounded up to this, not the whole block: a 64-byte
  // heartbeat costs one 4 KiB write instead of a 64 KiB one. The rest of the slot keeps whatever
  // an earlier lap left, which no reader interprets (the checksum covers the valid bytes only).
  // 0 writes whole blocks. The link raises it to the device's logical block size if larger.
  uint32_t write_unit = 4096;
  // kBlockVersion2 (a shared LUN): each block names the slots its frames are for.
  uint16_t block_version = kBlockVersion1;
};

enum class FlushReason : uint8_t { full, idle, slot_freed, deadline, forced };
inline constexpr size_t kFlushReasons = 5;

struct WriterStats {
  uint64_t frames_sent = 0;  // frames placed into blocks
  uint64_t payload_bytes_sent = 0;
  uint64_t frames_dropped_ring_full = 0;
  uint64_t bytes_dropped_ring_full = 0;
  uint64_t frames_dropped_too_big = 0;
  uint64_t blocks_written = 0;  // completed writes
  uint64_t volume_bytes_written = 0;
  uint64_t payload_bytes_written = 0;
  uint64_t write_errors = 0;         // failed writes (each retried until it succeeds)
  uint64_t backpressure_events = 0;  // send() returned early: every block buffer busy
  uint64_t ring_full_holds = 0;      // times the ring looked full by a stale ack: held for a fresh one
  uint64_t ring_full_confirmed = 0;  // fresh acks that confirmed the ring full: dropping began
  uint64_t flushes[kFlushReasons] = {};
  LatencyHistogram write_latency;  // submit to completion
};

class BlockWriter {
 public:
  // `keys`: seal every block authenticated (or encrypted) with them; null: plain blocks.
  BlockWriter(IoEngine& engine, int fd, const Superblock& superblock, uint32_t slot, uint64_t epoch,
              uint64_t first_sequence, const WriterOptions& options, const Keyring* keys = nullptr);

  // Takes frames in order and returns how many it took: placed into blocks, or dropped and
  // counted because the ring is full. Fewer than offered only when every block buffer is busy;
  // offer the rest again after completions. `destinations[i]` is the slot mask frame i is for
  // (version 2 blocks); empty: every frame is for every slot.
  size_t send(std::span<const FrameSpan> frames, TimePoint now, std::span<const uint64_t> destinations = {});

  // Submits what the flush policy says is due. Called after send() and after completions.
  void flush(TimePoint now);
  // Submits the partial block now, whatever the policy says (shutdown).
  void flush_all(TimePoint now);

  void on_complete(uint32_t buffer_index, int32_t result, TimePoint now);

  // The reader's cumulative acknowledgement of this slot (0: not reading it) and whether that
  // reader is alive. Only a live reader holds ring positions it has not consumed. This form does
  // not say when the acknowledgement was read, so it can lift a hold but never confirm one.
  void set_reader_progress(uint64_t acked_sequence, bool reader_alive);
  // The same, from a read of the reader's record that was begun when ack_read_ticket() returned
  // `ticket`: fresh, and so able to confirm that the ring is full, if no hold began after it.
  void set_reader_progress(uint64_t acked_sequence, bool reader_alive, uint64_t ticket);
  uint64_t ack_read_ticket() const { return holds_started_; }
  // Holding: the owner should read the reader's record now (rate-limited) and report it with its ticket.
  bool wants_fresh_ack() const { return flow_ == Flow::holding; }
  // When the current hold began (the `now` of the send() that began it).
  std::optional<TimePoint> holding_since() const {
    return flow_ == Flow::holding ? std::optional<TimePoint>(hold_since_) : std::nullopt;
  }
  // Dropping: a fresh acknowledgement said the ring is full; frames that need a new block are
  // dropped until an acknowledgement shows room.
  bool dropping() const { return flow_ == Flow::dropping; }
  void set_flush_deadline(Nanos deadline) { options_.flush_deadline = deadline; }
  // New keys (a rolling key change): a partial block is sealed with the old ones first.
  void set_keys(const Keyring* keys, TimePoint now);

  uint64_t next_sequence() const { return next_sequence_; }
  // Every sequence below this is on the volume.
  uint64_t durable_head() const;
  bool idle() const { return in_flight_ == 0 && sealed_.empty() && !filling_; }
  unsigned in_flight() const { return in_flight_; }
  // By the last acknowledgement, whatever its age.
  bool ring_full() const;
  // When flush() must run again for a deadline or a retry, if anything waits; nothing while every
  // write slot is taken (a completion, not a timer, is what changes things then).
  std::optional<TimePoint> next_deadline() const;
  const WriterStats& stats() const { return stats_; }

 private:
  struct Buffer {
    std::span<std::byte> memory;  // its part of arena_
    uint32_t dirty_bytes = 0;  // how much of it the last block used (zeroed lazily)
    uint64_t sequence = 0;
    uint32_t payload_bytes = 0;
    uint32_t write_bytes = 0;  // what the write covers: the used bytes, rounded up to the write unit
    TimePoint submitted_at{};
    TimePoint retry_at{};
    bool done = false;
  };

  enum class Flow : uint8_t { open, holding, dropping };

  bool open_block(TimePoint now);
  void seal_current(FlushReason reason, TimePoint now);
  bool ring_has_room_for(uint64_t sequence) const;
  void submit_sealed(TimePoint now);

  IoEngine& engine_;
  int fd_;
  Superblock superblock_;
  uint32_t slot_;
  uint64_t epoch_;
  WriterOptions options_;
  const Keyring* keys_;

  AlignedBuffer arena_;
  RegisteredMemory registered_;  // declared after arena_: unregistered before it is freed
  std::vector<Buffer> buffers_;
  std::vector<uint32_t> free_;
  std::deque<uint32_t> sealed_;       // waiting for a write slot, in sequence order
  std::deque<uint32_t> outstanding_;  // submitted or sealed, in sequence order, until done
  BlockBuilder builder_;
  std::optional<uint32_t> filling_;
  TimePoint filling_since_{};

  uint64_t next_sequence_;
  unsigned in_flight_ = 0;
  bool slot_freed_ = false;
  uint64_t reader_ack_ = 0;
  bool reader_alive_ = false;
  Flow flow_ = Flow::open;
  uint64_t holds_started_ = 0;
  TimePoint hold_since_{};
  WriterStats stats_;
};

}  // namespace blockxport
