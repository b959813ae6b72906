#include "blockxport/reader.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "blockxport/io_tags.h"

namespace blockxport {

BlockReader::BlockReader(IoEngine& engine, int fd, const Superblock& superblock, uint32_t slot,
                         uint32_t logical_block_size, const ReaderOptions& options)
    : engine_(engine),
      fd_(fd),
      superblock_(superblock),
      slot_(slot),
      logical_block_size_(logical_block_size),
      options_(options),
      slots_(std::max(1u, options.depth)),
      predicted_bytes_(logical_block_size) {
  if (superblock_.block_size % logical_block_size_ != 0)
    throw std::invalid_argument("block size is not a multiple of the device's logical block size");
  if (slots_.size() >= superblock_.ring_blocks)
    throw std::invalid_argument("reader depth must be below the ring length");
  for (auto& s : slots_)
    s.memory = AlignedBuffer(superblock_.block_size, std::max<uint32_t>(logical_block_size_, 4096));
  frames_.reserve(superblock_.block_size / (kRecordHeaderBytes + 1) + 1);
}

uint32_t BlockReader::round_to_logical(uint32_t bytes) const {
  uint32_t rounded = (bytes + logical_block_size_ - 1) / logical_block_size_ * logical_block_size_;
  return std::clamp(rounded, logical_block_size_, superblock_.block_size);
}

void BlockReader::attach(const WriterView& writer, TimePoint now) {
  detach();
  attached_ = true;
  writer_ = writer;
  epoch_ = writer.epoch;
  next_ = std::max({writer.head, writer.first_sequence, uint64_t{1}});
  skip_written_before_ns_ = writer.monotonic_ns;
  skipping_old_ = true;
  interval_ = options_.min_interval;
  next_poll_at_ = now;
}

void BlockReader::detach() {
  attached_ = false;
  stats_.dropped_partial_frames += assembler_.abandon();
  resync(next_, TimePoint{});
}

void BlockReader::note_writer(const WriterView& writer) { writer_ = writer; }

void BlockReader::resync(uint64_t to, TimePoint now) {
  for (auto& s : slots_) {
    if (s.state == SlotState::reading)
      s.discard = true;  // its completion is ignored; the slot frees then
    else
      s.state = SlotState::idle;
  }
  next_ = to;
  continuous_ = false;
  streaming_ = false;
  next_unreadable_since_.reset();
  next_poll_at_ = now;
}

void BlockReader::advance(uint64_t to, TimePoint /*now*/) {
  slot_for(next_).state = SlotState::idle;
  next_ = to;
  next_unreadable_since_.reset();
}

void BlockReader::poll(TimePoint now) {
  if (!attached_ || now < next_poll_at_) return;
  std::array<IoRequest, 64> batch;
  size_t count = 0;
  size_t width = streaming_ ? std::min<size_t>(slots_.size(), batch.size()) : 1;
  for (size_t i = 0; i < width; ++i) {
    uint64_t sequence = next_ + i;
    ReadSlot& s = slot_for(sequence);
    if (s.state != SlotState::idle) continue;
    s.sequence = sequence;
    // Idle: only the first logical block, it says whether more is valid. Streaming: the size the
    // last blocks had, to save the second read.
    s.read_bytes = streaming_ ? predicted_bytes_ : logical_block_size_;
    s.requested = s.read_bytes;
    s.state = SlotState::reading;
    s.discard = false;
    batch[count++] = IoRequest{IoOp::read,
                               fd_,
                               s.memory.data(),
                               s.read_bytes,
                               superblock_.block_offset(slot_, sequence),
                               make_tag(IoOwner::reader, static_cast<uint32_t>(sequence % slots_.size()))};
  }
  if (count == 0) return;
  size_t accepted = engine_.submit(std::span<const IoRequest>(batch.data(), count));
  for (size_t i = accepted; i < count; ++i) slots_[tag_index(batch[i].tag)].state = SlotState::idle;
  stats_.reads += accepted;
}

void BlockReader::on_complete(uint32_t slot_index, int32_t result, TimePoint now) {
  ReadSlot& s = slots_[slot_index];
  if (s.discard) {
    s.discard = false;
    s.state = SlotState::idle;
    return;
  }
  if (result < 0) {
    ++stats_.read_errors;
    s.state = SlotState::idle;
    schedule_after_miss(now);
    return;
  }
  stats_.volume_bytes_read += static_cast<uint64_t>(result);
  if (static_cast<uint32_t>(result) < s.requested) {
    ++stats_.read_errors;  // short read: the volume ends inside the ring
    s.state = SlotState::idle;
    schedule_after_miss(now);
    return;
  }
  classify(s, now);
}

bool BlockReader::acceptable_epoch(uint64_t epoch, uint64_t sequence) {
  return epoch == epoch_ || (epoch == writer_.epoch && sequence >= writer_.first_sequence);
}

void BlockReader::classify(ReadSlot& s, TimePoint now) {
  BlockDecode d = decode_block(std::span<const std::byte>(s.memory.data(), s.read_bytes), superblock_.block_size);
  if (d.check == BlockCheck::need_more) {
    uint32_t wanted = round_to_logical(d.header.valid_bytes);
    IoRequest rest{IoOp::read,
                   fd_,
                   s.memory.data() + s.read_bytes,
                   wanted - s.read_bytes,
                   superblock_.block_offset(slot_, s.sequence) + s.read_bytes,
                   make_tag(IoOwner::reader, static_cast<uint32_t>(s.sequence % slots_.size()))};
    predicted_bytes_ = wanted;
    s.requested = wanted - s.read_bytes;
    s.read_bytes = wanted;
    if (engine_.submit(std::span<const IoRequest>(&rest, 1)) == 1) {
      ++stats_.reads;
      return;  // still reading
    }
    s.state = SlotState::idle;
    schedule_after_miss(now);
    return;
  }
  const BlockHeader& h = d.header;
  switch (d.check) {
    case BlockCheck::ok:
      if (h.volume_tag != superblock_.volume_tag() || h.slot != slot_) {
        s.state = SlotState::not_yet;  // left over from an earlier format of the volume
      } else if (h.sequence == s.sequence) {
        if (acceptable_epoch(h.epoch, h.sequence)) {
          s.state = SlotState::ready;
          s.header = h;
          predicted_bytes_ = round_to_logical(h.valid_bytes);
        } else {
          ++stats_.stale_epoch_blocks;
          wants_writer_state_ = true;  // a newer writer we have not heard of yet, or a dead one
          s.state = SlotState::not_yet;
        }
      } else if (h.sequence < s.sequence) {
        s.state = SlotState::not_yet;  // the previous lap: not written yet
      } else if ((h.sequence - s.sequence) % superblock_.ring_blocks == 0 && acceptable_epoch(h.epoch, h.sequence)) {
        s.state = SlotState::lapped;
        s.header = h;
      } else {
        s.state = SlotState::invalid;
      }
      return;
    case BlockCheck::empty:
      s.state = SlotState::not_yet;
      return;
    default:
      s.state = SlotState::invalid;  // torn, or corrupt: re-read until the timeout
      return;
  }
}

// The block's age on the writer's own clock: its timestamp against our estimate of the writer's
// clock now (its last state record plus the time since we read it). Two nodes' clocks are never
// compared; the estimate errs young by the record's read and mirror delay.
std::optional<uint64_t> BlockReader::age_ns(const BlockHeader& header, TimePoint now) const {
  if (header.epoch != writer_.epoch || writer_.monotonic_ns == 0) return std::nullopt;
  uint64_t writer_now = writer_.monotonic_ns + ns_between(writer_.seen_at, now);
  return writer_now > header.writer_timestamp_ns ? writer_now - header.writer_timestamp_ns : 0;
}

bool BlockReader::too_old(const BlockHeader& header, TimePoint now) const {
  if (options_.max_age.count() <= 0) return false;
  auto age = age_ns(header, now);
  return age && *age > static_cast<uint64_t>(options_.max_age.count());
}

void BlockReader::set_options(const ReaderOptions& options) {
  // The depth sizes the read slots: only the timers change on a live reader.
  unsigned depth = options_.depth;
  options_ = options;
  options_.depth = depth;
}

bool BlockReader::writer_is_past(uint64_t sequence) const {
  if (writer_.epoch == epoch_ && writer_.head > sequence) return true;
  return std::any_of(slots_.begin(), slots_.end(), [&](const ReadSlot& s) {
    return s.state == SlotState::ready && !s.discard && s.sequence > sequence;
  });
}

void BlockReader::schedule_after_miss(TimePoint now) {
  if (now - last_data_at_ < options_.spin_window) {
    next_poll_at_ = now;
    return;
  }
  interval_ = std::clamp(interval_ * 2, options_.min_interval, options_.max_interval);
  next_poll_at_ = now + interval_;
}

size_t BlockReader::deliver(FrameSink& sink, TimePoint now) {
  size_t delivered = 0;
  while (attached_) {
    ReadSlot& s = slot_for(next_);
    if (s.sequence != next_ || s.discard || s.state == SlotState::idle || s.state == SlotState::reading) break;

    if (s.state == SlotState::ready) {
      const BlockHeader& h = s.header;
      if (h.epoch != epoch_) {
        epoch_ = h.epoch;
        ++stats_.epoch_changes;
        continuous_ = false;
      }
      if (skipping_old_ && h.writer_timestamp_ns < skip_written_before_ns_) {
        ++stats_.skipped_on_attach;
        continuous_ = false;
        advance(next_ + 1, now);
        continue;
      }
      skipping_old_ = false;
      frames_.clear();
      auto taken = assembler_.take(std::span<const std::byte>(s.memory.data(), h.valid_bytes), h, continuous_, frames_);
      stats_.dropped_partial_frames += taken.dropped_partials;
      if (!taken.well_formed) {
        ++stats_.malformed_blocks;
        continuous_ = false;
        advance(next_ + 1, now);
        continue;
      }
      if (too_old(h, now)) {
        ++stats_.too_old_blocks;
        stats_.too_old_frames += frames_.size();
        continuous_ = true;
        advance(next_ + 1, now);
        continue;
      }
      if (auto age = age_ns(h, now)) stats_.delivery_age.record(*age);
      if (!frames_.empty()) sink.deliver(frames_, h);
      for (const auto& f : frames_) stats_.bytes_delivered += f.size();
      stats_.frames_delivered += frames_.size();
      ++stats_.blocks_delivered;
      continuous_ = true;
      streaming_ = true;
      last_data_at_ = now;
      interval_ = options_.min_interval;
      next_poll_at_ = now;
      advance(next_ + 1, now);
      ++delivered;
      continue;
    }

    if (s.state == SlotState::lapped) {
      uint64_t target = s.header.sequence;
      if (writer_.epoch == epoch_) target = std::max(target, writer_.head);
      ++stats_.lapped_resyncs;
      stats_.blocks_lost_lapped += target - next_;
      stats_.dropped_partial_frames += assembler_.abandon();
      wants_writer_state_ = true;
      resync(target, now);
      continue;
    }

    // not_yet or invalid. A restarted writer began further on: what lies between was never written.
    if (writer_.epoch != epoch_ && writer_.first_sequence > next_) {
      stats_.restart_skipped_blocks += writer_.first_sequence - next_;
      stats_.dropped_partial_frames += assembler_.abandon();
      epoch_ = writer_.epoch;
      ++stats_.epoch_changes;
      resync(writer_.first_sequence, now);
      continue;
    }
    if (!next_unreadable_since_) next_unreadable_since_ = now;
    if (now - *next_unreadable_since_ >= options_.torn_timeout && writer_is_past(next_)) {
      ++(s.state == SlotState::invalid ? stats_.corrupt_blocks : stats_.missing_blocks);
      continuous_ = false;
      advance(next_ + 1, now);
      continue;
    }
    ++(s.state == SlotState::invalid ? stats_.torn_rereads : stats_.empty_polls);
    streaming_ = false;
    s.state = SlotState::idle;
    schedule_after_miss(now);
    break;
  }
  return delivered;
}

std::optional<TimePoint> BlockReader::next_poll() const {
  if (!attached_) return std::nullopt;
  // A read of the next block in flight: its completion, not a timer, is what to wait for.
  const ReadSlot& s = slots_[next_ % slots_.size()];
  if (s.state == SlotState::reading && s.sequence == next_ && !s.discard) return std::nullopt;
  return next_poll_at_;
}

}  // namespace blockxport
