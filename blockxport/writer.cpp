#include "blockxport/writer.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "blockxport/io_tags.h"

namespace blockxport {

BlockWriter::BlockWriter(IoEngine& engine, int fd, const Superblock& superblock, uint32_t slot, uint64_t epoch,
                         uint64_t first_sequence, const WriterOptions& options, const Keyring* keys)
    : engine_(engine),
      fd_(fd),
      superblock_(superblock),
      slot_(slot),
      epoch_(epoch),
      options_(options),
      keys_(keys),
      next_sequence_(first_sequence) {
  if (options_.queue_depth == 0) throw std::invalid_argument("writer queue depth must be at least 1");
  if (options_.write_unit != 0 && (superblock_.block_size % options_.write_unit != 0 || options_.write_unit % 512 != 0))
    throw std::invalid_argument("writer write unit must divide the block size and be a multiple of 512");
  // Enough buffers to keep queue_depth writes in flight while the next blocks fill.
  size_t pool = 2 * size_t{options_.queue_depth} + 1;
  if (pool >= superblock_.ring_blocks)
    throw std::invalid_argument("ring is too short for the writer queue depth (needs more than 2 x depth + 1 blocks)");
  buffers_.resize(pool);
  // One arena for the pool, registered with the engine once (fixed buffers where it can).
  arena_ = AlignedBuffer(pool * superblock_.block_size, 4096);
  for (uint32_t i = 0; i < pool; ++i) {
    buffers_[i].memory = arena_.span().subspan(size_t{i} * superblock_.block_size, superblock_.block_size);
    free_.push_back(static_cast<uint32_t>(pool - 1 - i));
  }
  registered_ = RegisteredMemory(engine_, arena_.span());
}

bool BlockWriter::ring_has_room_for(uint64_t sequence) const {
  // A live reader at 0 has consumed nothing of a writer that began at 1: one lap of room.
  if (!reader_alive_) return true;
  return sequence <= reader_ack_ + superblock_.ring_blocks;
}

bool BlockWriter::ring_full() const { return !ring_has_room_for(next_sequence_); }

void BlockWriter::set_reader_progress(uint64_t acked_sequence, bool reader_alive) {
  reader_ack_ = acked_sequence;
  reader_alive_ = reader_alive;
  if (!ring_full()) flow_ = Flow::open;
}

void BlockWriter::set_reader_progress(uint64_t acked_sequence, bool reader_alive, uint64_t ticket) {
  set_reader_progress(acked_sequence, reader_alive);
  // A read begun before this hold began may predate the reader's latest progress: only a later
  // one may condemn frames.
  if (flow_ == Flow::holding && ticket == holds_started_) {
    flow_ = Flow::dropping;
    ++stats_.ring_full_confirmed;
  }
}

bool BlockWriter::open_block(TimePoint now) {
  uint32_t index = free_.back();
  free_.pop_back();
  Buffer& buffer = buffers_[index];
  buffer.sequence = next_sequence_++;
  buffer.done = false;
  builder_.start(buffer.memory, keys_, options_.block_version);
  filling_ = index;
  filling_since_ = now;
  outstanding_.push_back(index);
  return true;
}

void BlockWriter::seal_current(FlushReason reason, TimePoint now) {
  Buffer& buffer = buffers_[*filling_];
  BlockHeader header;
  header.slot = slot_;
  header.epoch = epoch_;
  header.sequence = buffer.sequence;
  header.writer_timestamp_ns = to_ns(now);
  header.volume_tag = superblock_.volume_tag();
  builder_.seal(header, buffer.dirty_bytes, superblock_.uuid);  // one crypto call per block, if keyed
  buffer.dirty_bytes = builder_.sealed_bytes();
  buffer.payload_bytes = builder_.payload_bytes();
  uint32_t unit = options_.write_unit;
  buffer.write_bytes = unit == 0 ? superblock_.block_size
                                 : std::min(superblock_.block_size, (buffer.dirty_bytes + unit - 1) / unit * unit);
  buffer.retry_at = now;
  sealed_.push_back(*filling_);
  filling_.reset();
  ++stats_.flushes[static_cast<size_t>(reason)];
}

size_t BlockWriter::send(std::span<const FrameSpan> frames, TimePoint now, std::span<const uint64_t> destinations) {
  const size_t header_bytes = options_.block_version == kBlockVersion2 ? kBlockHeaderV2Bytes : kBlockHeaderBytes;
  const size_t per_block = superblock_.block_size - header_bytes - kRecordHeaderBytes - (keys_ ? kAuthTagBytes : 0);
  size_t taken = 0;
  for (; taken < frames.size(); ++taken) {
    FrameSpan frame = frames[taken];
    if (frame.empty() || frame.size() > kMaxFrameBytes) {
      ++stats_.frames_dropped_too_big;
      continue;
    }
    size_t room = filling_ ? builder_.room() : 0;
    size_t new_blocks = frame.size() <= room ? 0 : (frame.size() - room + per_block - 1) / per_block;
    // A frame goes in whole or not at all, so a retry never has to remember half a frame.
    if (new_blocks > free_.size()) {
      ++stats_.backpressure_events;
      break;
    }
    if (new_blocks > 0 && !ring_has_room_for(next_sequence_ + new_blocks - 1)) {
      if (flow_ == Flow::open) {
        flow_ = Flow::holding;
        hold_since_ = now;
        ++holds_started_;
        ++stats_.ring_full_holds;
      }
      if (flow_ == Flow::holding) break;
      ++stats_.frames_dropped_ring_full;
      stats_.bytes_dropped_ring_full += frame.size();
      continue;
    }
    uint64_t mask = taken < destinations.size() ? destinations[taken] : kAllDestinations;
    size_t offset = filling_ ? builder_.append(frame, 0, mask) : 0;
    while (offset < frame.size()) {
      if (filling_) seal_current(FlushReason::full, now);
      open_block(now);
      offset += builder_.append(frame, offset, mask);
    }
    if (builder_.full()) seal_current(FlushReason::full, now);
    ++stats_.frames_sent;
    stats_.payload_bytes_sent += frame.size();
  }
  return taken;
}

void BlockWriter::submit_sealed(TimePoint now) {
  std::array<IoRequest, 64> batch;
  size_t count = 0;
  while (!sealed_.empty() && in_flight_ + count < options_.queue_depth && count < batch.size()) {
    uint32_t index = sealed_.front();
    Buffer& buffer = buffers_[index];
    if (buffer.retry_at > now) break;  // a failed block waits its back-off; order must hold
    sealed_.pop_front();
    buffer.submitted_at = now;
    batch[count++] = IoRequest{IoOp::write,
                               fd_,
                               buffer.memory.data(),
                               buffer.write_bytes,
                               superblock_.block_offset(slot_, buffer.sequence),
                               make_tag(IoOwner::writer, index)};
  }
  if (count == 0) return;
  size_t accepted = engine_.submit(std::span<const IoRequest>(batch.data(), count));
  in_flight_ += static_cast<unsigned>(accepted);
  // What the engine could not take goes back to the front, still in order.
  for (size_t i = count; i > accepted; --i) sealed_.push_front(tag_index(batch[i - 1].tag));
}

void BlockWriter::flush(TimePoint now) {
  submit_sealed(now);
  if (filling_ && !builder_.empty() && sealed_.empty() && in_flight_ < options_.queue_depth) {
    std::optional<FlushReason> reason;
    if (in_flight_ == 0)
      reason = FlushReason::idle;  // latency first: nothing to batch behind
    else if (slot_freed_)
      reason = FlushReason::slot_freed;  // group commit: what gathered while the last write ran
    else if (now - filling_since_ >= options_.flush_deadline)
      reason = FlushReason::deadline;
    if (reason) {
      seal_current(*reason, now);
      submit_sealed(now);
    }
  }
  slot_freed_ = false;
}

void BlockWriter::set_keys(const Keyring* keys, TimePoint now) {
  // The partial block reserved room for the old keys' tag (or none): seal it as it was begun.
  if (filling_ && !builder_.empty()) seal_current(FlushReason::forced, now);
  keys_ = keys;
  if (filling_) builder_.start(buffers_[*filling_].memory, keys_, options_.block_version);
}

void BlockWriter::flush_all(TimePoint now) {
  if (filling_ && !builder_.empty()) seal_current(FlushReason::forced, now);
  submit_sealed(now);
}

void BlockWriter::on_complete(uint32_t buffer_index, int32_t result, TimePoint now) {
  Buffer& buffer = buffers_[buffer_index];
  --in_flight_;
  slot_freed_ = true;
  if (result != static_cast<int32_t>(buffer.write_bytes)) {
    // A hole in the ring would stall the reader at this sequence forever: write it again.
    ++stats_.write_errors;
    buffer.retry_at = now + options_.retry_backoff;
    auto pos = std::find_if(sealed_.begin(), sealed_.end(),
                            [&](uint32_t i) { return buffers_[i].sequence > buffer.sequence; });
    sealed_.insert(pos, buffer_index);
    return;
  }
  buffer.done = true;
  ++stats_.blocks_written;
  stats_.volume_bytes_written += buffer.write_bytes;
  stats_.payload_bytes_written += buffer.payload_bytes;
  stats_.write_latency.record(ns_between(buffer.submitted_at, now));
  while (!outstanding_.empty() && buffers_[outstanding_.front()].done) {
    buffers_[outstanding_.front()].done = false;
    free_.push_back(outstanding_.front());
    outstanding_.pop_front();
  }
}

uint64_t BlockWriter::durable_head() const {
  return outstanding_.empty() ? next_sequence_ : buffers_[outstanding_.front()].sequence;
}

std::optional<TimePoint> BlockWriter::next_deadline() const {
  if (in_flight_ >= options_.queue_depth) return std::nullopt;
  // Sealed blocks go out before the partial one can be sealed, so theirs is the only deadline.
  if (!sealed_.empty()) return buffers_[sealed_.front()].retry_at;
  if (filling_ && !builder_.empty()) return in_flight_ == 0 ? filling_since_ : filling_since_ + options_.flush_deadline;
  return std::nullopt;
}

}  // namespace blockxport
