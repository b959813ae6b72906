#include "blockxport/reader.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "blockxport/block_auth.h"
#include "blockxport/io_tags.h"

namespace blockxport {

namespace {

// The window's memory is bounded too, so a link with 1 MiB blocks does not pin 32 MiB for it.
constexpr uint64_t kMaxWindowBytes = 16 << 20;

size_t window_slots(const ReaderOptions& options, const Superblock& superblock) {
  uint64_t slots = std::max(1u, options.depth);
  slots = std::min(slots, std::max<uint64_t>(1, kMaxWindowBytes / superblock.block_size));
  // Reading further ahead than the ring holds would only ever find the previous lap.
  return static_cast<size_t>(std::min(slots, superblock.ring_blocks / 2));
}

}  // namespace

void WriterClock::observe(uint64_t writer_ns, TimePoint seen_at) {
  int64_t offset = static_cast<int64_t>(to_ns(seen_at)) - static_cast<int64_t>(writer_ns);
  if (offset_) {
    // The bound slips late with time, at the most two clocks may drift apart.
    uint64_t since = ns_between(offset_at_, seen_at);
    int64_t slipped = *offset_ + static_cast<int64_t>(since * kDriftPpm / 1'000'000);
    if (slipped < offset) offset = slipped;
  }
  offset_ = offset;
  offset_at_ = std::max(offset_at_, seen_at);
}

std::optional<uint64_t> WriterClock::writer_now(TimePoint now) const {
  if (!offset_) return std::nullopt;
  int64_t ns = static_cast<int64_t>(to_ns(now)) - *offset_;
  return ns > 0 ? static_cast<uint64_t>(ns) : 0;
}

void WriterPastTimes::note(uint64_t bound, TimePoint since) {
  auto at = std::lower_bound(entries_.begin(), entries_.end(), bound,
                             [](const Entry& e, uint64_t b) { return e.bound < b; });
  if (at != entries_.end() && at->since <= since) return;  // known as early already
  // Entries no wider than this one and no earlier are superseded by it.
  std::erase_if(entries_, [&](const Entry& e) { return e.bound <= bound && e.since >= since; });
  at = std::lower_bound(entries_.begin(), entries_.end(), bound,
                        [](const Entry& e, uint64_t b) { return e.bound < b; });
  entries_.insert(at, Entry{bound, since});
  // Merging an entry into the next one dates its sequences later: a skip can come later, never
  // earlier. The first entry (the next sequences) stays exact.
  if (entries_.size() > kMaxEntries) entries_.erase(entries_.begin() + 1);
}

std::optional<TimePoint> WriterPastTimes::since(uint64_t sequence) const {
  auto at = std::upper_bound(entries_.begin(), entries_.end(), sequence,
                             [](uint64_t s, const Entry& e) { return s < e.bound; });
  if (at == entries_.end()) return std::nullopt;
  return at->since;
}

void WriterPastTimes::forget_below(uint64_t sequence) {
  std::erase_if(entries_, [&](const Entry& e) { return e.bound <= sequence; });
}

BlockReader::BlockReader(IoEngine& engine, int fd, const Superblock& superblock, uint32_t slot,
                         uint32_t logical_block_size, const ReaderOptions& options, const Keyring* keys)
    : engine_(engine),
      fd_(fd),
      superblock_(superblock),
      slot_(slot),
      logical_block_size_(logical_block_size),
      options_(options),
      keys_(keys),
      slots_(window_slots(options, superblock)),
      predicted_bytes_(logical_block_size) {
  if (superblock_.block_size % logical_block_size_ != 0)
    throw std::invalid_argument("block size is not a multiple of the device's logical block size");
  window_memory_ = AlignedBuffer(slots_.size() * superblock_.block_size, std::max<uint32_t>(logical_block_size_, 4096));
  registered_ = RegisteredMemory(engine_, window_memory_.span());
  for (size_t i = 0; i < slots_.size(); ++i) slots_[i].memory = window_memory_.data() + i * superblock_.block_size;
  max_read_blocks_ = std::max<uint32_t>(1, options_.max_read_bytes / superblock_.block_size);
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
  writer_clock_.reset();
  if (writer.monotonic_ns != 0) writer_clock_.observe(writer.monotonic_ns, writer.seen_at);
  epoch_ = writer.epoch;
  next_ = std::max({writer.head, writer.first_sequence, uint64_t{1}});
  skip_written_before_ns_ = std::max(writer.monotonic_ns, writer.old_before_ns);
  skipping_old_ = true;
  interval_ = options_.min_interval;
  next_poll_at_ = now;
  parked_ = woken_ = false;
}

void BlockReader::detach() {
  attached_ = false;
  stats_.dropped_partial_frames += assembler_.abandon();
  resync(next_, TimePoint{});
}

void BlockReader::note_writer(const WriterView& writer) {
  // A new epoch is a new writer process, perhaps on another host after a failover: a new clock.
  if (writer.epoch != writer_.epoch) writer_clock_.reset();
  writer_ = writer;
  if (writer.monotonic_ns != 0) writer_clock_.observe(writer.monotonic_ns, writer.seen_at);
  // Its head covers our sequences when it is our epoch, or a restarted writer that began at or
  // before them (one that began further on is followed there by deliver()).
  if (attached_ && (writer.epoch == epoch_ || writer.first_sequence <= next_)) writer_past_.note(writer.head, writer.seen_at);
  last_good_read_at_ = std::max(last_good_read_at_, writer.seen_at);  // its volume answered
}

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
  window_ = 1;
  writer_past_.clear();
  blocks_past_.clear();
  next_waiting_since_.reset();
  next_poll_at_ = now;
}

void BlockReader::advance(uint64_t to, TimePoint /*now*/) {
  slot_for(next_).state = SlotState::idle;
  next_ = to;
  writer_past_.forget_below(next_);
  blocks_past_.forget_below(next_);
  next_waiting_since_.reset();
}

size_t BlockReader::run_length(uint64_t sequence, size_t limit) const {
  size_t run = 1;
  for (; run < limit; ++run) {
    uint64_t next = sequence + run;
    // The ring wraps on disk, the window in memory: a read cannot cross either.
    if (next % superblock_.ring_blocks == 0 || index_of(next) == 0) break;
    if (slot_for(next).state != SlotState::idle || slot_for(next).alone) break;
  }
  return run;
}

void BlockReader::poll(TimePoint now) {
  if (!attached_ || (parked_ && !woken_) || now < next_poll_at_) return;
  std::array<IoRequest, 64> batch;
  size_t count = 0;
  size_t width = window();
  // Whole blocks, several to a read, once they are mostly full; otherwise each block alone,
  // idle: only the first logical block (it says whether more is valid), streaming: the size
  // the last blocks had, to save the second read.
  bool whole = streaming_ && predicted_bytes_ > superblock_.block_size / 2;
  uint32_t per_block = whole ? superblock_.block_size : streaming_ ? predicted_bytes_ : logical_block_size_;
  for (size_t i = 0; i < width && count < batch.size();) {
    uint64_t sequence = next_ + i;
    if (slot_for(sequence).state != SlotState::idle) {
      ++i;
      continue;
    }
    bool alone = slot_for(sequence).alone;
    size_t run = whole && !alone ? run_length(sequence, std::min<size_t>(max_read_blocks_, width - i)) : 1;
    for (size_t k = 0; k < run; ++k) {
      ReadSlot& s = slot_for(sequence + k);
      if (s.sequence != sequence + k) {
        s.bad_since.reset();
        s.unready_since.reset();
      }
      s.sequence = sequence + k;
      s.read_bytes = per_block;
      s.state = SlotState::reading;
      s.discard = false;
      s.span = 0;
      s.read_at = now;
    }
    ReadSlot& first = slot_for(sequence);
    first.span = static_cast<uint32_t>(run);
    first.requested = static_cast<uint32_t>(run) * per_block;
    batch[count++] = IoRequest{IoOp::read,
                               fd_,
                               first.memory,
                               first.requested,
                               superblock_.block_offset(slot_, sequence),
                               make_tag(IoOwner::reader, index_of(sequence), slot_)};
    i += run;
  }
  if (count == 0) return;
  size_t accepted = engine_.submit(std::span<const IoRequest>(batch.data(), count));
  for (size_t i = accepted; i < count; ++i) {
    ReadSlot& first = slots_[tag_index(batch[i].tag)];
    for (uint32_t k = 0; k < first.span; ++k) slot_for(first.sequence + k).state = SlotState::idle;
  }
  stats_.reads += accepted;
}

void BlockReader::on_complete(uint32_t slot_index, int32_t result, TimePoint now) {
  ReadSlot& first = slots_[slot_index];
  uint32_t span = std::max<uint32_t>(first.span, 1);
  uint64_t sequence = first.sequence;
  if (first.discard) {
    for (uint32_t k = 0; k < span; ++k) {
      ReadSlot& s = slot_for(sequence + k);
      s.discard = false;
      s.state = SlotState::idle;
    }
    return;
  }
  if (result > 0) stats_.volume_bytes_read += static_cast<uint64_t>(result);
  // An error, or a short read (the volume ends inside the ring): nothing in it can be trusted.
  // A read of several blocks is split up, so that one bad place fails only its own block; a
  // block read alone is classified failed and waits like a damaged one (deliver()).
  if (result < 0 || static_cast<uint32_t>(result) < first.requested) {
    ++stats_.read_errors;
    for (uint32_t k = 0; k < span; ++k) {
      ReadSlot& s = slot_for(sequence + k);
      s.alone = true;
      s.state = span > 1 ? SlotState::idle : SlotState::failed;
      if (span == 1 && !s.unready_since) s.unready_since = s.read_at;
    }
    schedule_after_miss(now);
    return;
  }
  last_good_read_at_ = std::max(last_good_read_at_, first.read_at);
  for (uint32_t k = 0; k < span; ++k) {
    ReadSlot& s = slot_for(sequence + k);
    s.alone = false;
    s.bad_since.reset();
    classify(s, now);
    if (s.state == SlotState::ready) {  // it wrote everything before
      writer_past_.note(s.sequence, now);
      blocks_past_.note(s.sequence, now);
      s.unready_since.reset();
    } else if (unready(s.state) && !s.unready_since) {
      s.unready_since = s.read_at;
    }
  }
  for (uint32_t k = 0; k < span; ++k) {
    ReadSlot& s = slot_for(sequence + k);
    bool ahead = s.sequence > next_;
    bool known_written = s.state == SlotState::ready || s.state == SlotState::invalid ||
                         s.state == SlotState::failed ||
                         (s.state == SlotState::not_yet && writer_past_.since(s.sequence));
    if (ahead && s.state == SlotState::not_yet && !known_written) {
      // Ahead of the next block, "not there yet" means the window reached past the writer: read
      // it again when the window comes back to it, without waiting for it to be the next block.
      note_readahead_miss(s);
    } else if (streaming_ && known_written && s.sequence + 1 >= next_ + window_) {
      // The window's edge was already written: the writer is further ahead, so may the window be.
      // One block per such proof keeps reads of unwritten blocks to about one per window. A
      // damaged block stays classified and the window doubles past it, to find soon where the
      // writer is (a valid block behind the damage) however long the damaged run.
      unsigned wider = s.state == SlotState::ready ? window_ + 1 : window_ * 2;
      window_ = std::min<unsigned>(wider, static_cast<unsigned>(slots_.size()));
    }
  }
}

void BlockReader::note_readahead_miss(ReadSlot& s) {
  ++stats_.readahead_misses;
  s.state = SlotState::idle;
  window_ = std::min<unsigned>(window_, static_cast<unsigned>(std::max<uint64_t>(1, s.sequence - next_)));
}

bool BlockReader::acceptable_epoch(uint64_t epoch, uint64_t sequence) {
  return epoch == epoch_ || (epoch == writer_.epoch && sequence >= writer_.first_sequence);
}

void BlockReader::classify(ReadSlot& s, TimePoint now) {
  BlockDecode d = decode_block(std::span<const std::byte>(s.memory, s.read_bytes), superblock_.block_size);
  if (d.check == BlockCheck::need_more && not_for_us_unread(s, d.header, d.header_checked)) {
    ++stats_.payload_reads_saved;
    s.state = SlotState::ready;
    s.header = d.header;
    return;
  }
  if (d.check == BlockCheck::need_more) {
    uint32_t wanted = round_to_logical(d.header.valid_bytes);
    IoRequest rest{IoOp::read,
                   fd_,
                   s.memory + s.read_bytes,
                   wanted - s.read_bytes,
                   superblock_.block_offset(slot_, s.sequence) + s.read_bytes,
                   make_tag(IoOwner::reader, index_of(s.sequence), slot_)};
    predicted_bytes_ = wanted;
    s.requested = wanted - s.read_bytes;
    s.span = 1;
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
        if (!authentic(s, h)) {
          s.state = SlotState::invalid;  // forged, altered or sealed for another place: never acted on
        } else if (acceptable_epoch(h.epoch, h.sequence)) {
          s.state = SlotState::ready;
          s.header = h;
          if (h.for_slot(own_slot_)) predicted_bytes_ = round_to_logical(h.valid_bytes);
        } else {
          ++stats_.stale_epoch_blocks;
          wants_writer_state_ = true;  // a newer writer we have not heard of yet, or a dead one
          s.state = SlotState::not_yet;
        }
      } else if (h.sequence < s.sequence) {
        s.state = SlotState::not_yet;  // the previous lap: not written yet
      } else if ((h.sequence - s.sequence) % superblock_.ring_blocks == 0 && acceptable_epoch(h.epoch, h.sequence) &&
                 authentic(s, h)) {  // a forged later lap must not make the reader jump
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

// A version 2 header whose own CRC holds, at its place and in an epoch we take, that leaves us
// out: the rest of the block is not ours to read. Never with keys: nothing that was not
// authenticated is acted on, and the tag covers the whole block.
bool BlockReader::not_for_us_unread(const ReadSlot& s, const BlockHeader& h, bool header_checked) {
  return header_checked && !keys_ && !h.authenticated() && !h.for_slot(own_slot_) && h.slot == slot_ &&
         h.volume_tag == superblock_.volume_tag() && h.sequence == s.sequence && acceptable_epoch(h.epoch, h.sequence);
}

bool BlockReader::authentic(ReadSlot& s, const BlockHeader& h) {
  AuthResult result = authenticate_block(keys_, std::span<std::byte>(s.memory, h.valid_bytes), h, superblock_.uuid);
  if (result == AuthResult::accepted) return true;
  if (s.auth_failed_sequence != s.sequence) {
    s.auth_failed_sequence = s.sequence;
    ++(result == AuthResult::no_key ? stats_.auth_no_key_blocks : stats_.auth_failed_blocks);
  }
  return false;
}

// The block's age on the writer's own clock: its timestamp against our estimate of the writer's
// clock now (WriterClock). Errs young by at most the smallest delay seen.
std::optional<uint64_t> BlockReader::age_ns(const BlockHeader& header, TimePoint now) const {
  if (header.epoch != writer_.epoch) return std::nullopt;
  auto writer_now = writer_clock_.writer_now(now);
  if (!writer_now) return std::nullopt;
  return *writer_now > header.writer_timestamp_ns ? *writer_now - header.writer_timestamp_ns : 0;
}

bool BlockReader::too_old(const BlockHeader& header, TimePoint now) const {
  if (options_.max_age.count() <= 0) return false;
  auto age = age_ns(header, now);
  return age && *age > static_cast<uint64_t>(options_.max_age.count());
}

void BlockReader::set_options(const ReaderOptions& options) {
  // The depth and read size shape the window's memory: only the timers change on a live reader.
  unsigned depth = options_.depth;
  uint32_t max_read_bytes = options_.max_read_bytes;
  options_ = options;
  options_.depth = depth;
  options_.max_read_bytes = max_read_bytes;
}

std::optional<TimePoint> BlockReader::skip_deadline(const ReadSlot& s) const {
  std::optional<TimePoint> since;
  if (s.state == SlotState::not_yet) {
    since = blocks_past_.since(s.sequence);
    if (!since && s.sequence == next_) since = next_waiting_since_;
  } else {
    since = writer_past_.since(s.sequence);
    if (since && s.state == SlotState::failed) {
      if (s.bad_since)
        since = std::max(*since, *s.bad_since);
      else
        since.reset();
    }
  }
  if (!since) return std::nullopt;
  if (s.unready_since) since = std::max(*since, *s.unready_since);
  return *since + options_.torn_timeout;
}

bool BlockReader::may_skip(const ReadSlot& s, TimePoint now) const {
  auto deadline = skip_deadline(s);
  if (!deadline || now < *deadline || s.read_at < *deadline) return false;
  // A failed read counts only beside one that worked, made with it or before it (one made later
  // makes it stale: refresh_unready() reads it again).
  return s.state != SlotState::failed || (last_good_read_at_ >= *deadline && last_good_read_at_ <= s.read_at);
}

void BlockReader::refresh_unready(TimePoint now) {
  for (size_t i = 0, width = window(); i < width; ++i) {
    uint64_t sequence = next_ + i;
    ReadSlot& s = slot_for(sequence);
    if (s.sequence != sequence || s.discard || !unready(s.state)) continue;
    auto deadline = skip_deadline(s);
    bool unverified = deadline && now >= *deadline && s.read_at < *deadline;
    bool stale = s.read_at < last_data_at_ || (s.state == SlotState::failed && s.read_at < last_good_read_at_);
    if (unverified || stale) {
      s.state = SlotState::idle;
      next_poll_at_ = std::min(next_poll_at_, now);
    }
  }
}

void BlockReader::expect_reply(TimePoint now, size_t frames) {
  send_streak_ = (now - last_send_ < options_.dense_gap ? send_streak_ : 0) + static_cast<unsigned>(frames);
  bool dense = send_streak_ >= kDenseStreak;
  last_send_ = now;
  if (parked_) {
    // A lone send (a heartbeat) leaves the reader parked: its answer is found by the table read.
    if (dense && attached_) {
      parked_ = woken_ = false;
      interval_ = options_.min_interval;
      next_poll_at_ = now;
    }
    return;
  }
  if (!attached_ || interval_ <= options_.min_interval) return;
  interval_ = options_.min_interval;
  next_poll_at_ = std::min(next_poll_at_, now + interval_);
}

void BlockReader::wake(TimePoint now) {
  if (!attached_ || !parked_) return;
  woken_ = true;
  next_poll_at_ = now;
}

void BlockReader::schedule_after_miss(TimePoint now) {
  if (parked_) {
    woken_ = false;  // read what was there: asleep again until the next wake()
    return;
  }
  if (options_.park_after.count() > 0 && now - std::max(last_delivery_, last_send_) >= options_.park_after &&
      now - last_data_at_ >= options_.park_after) {
    parked_ = true;
    return;
  }
  // Back to back only while data streams (two blocks within the spin window): a lone block, a
  // request or a heartbeat, is followed by the back-off alone, not a burst of reads.
  if (now - last_data_at_ < options_.spin_window && data_gap_ < options_.spin_window) {
    next_poll_at_ = now;
    return;
  }
  interval_ = std::clamp(interval_ * 2, options_.min_interval, options_.max_interval);
  next_poll_at_ = now + interval_;
}

void ReaderStats::add(const ReaderStats& o) {
  frames_delivered += o.frames_delivered;
  bytes_delivered += o.bytes_delivered;
  blocks_delivered += o.blocks_delivered;
  reads += o.reads;
  volume_bytes_read += o.volume_bytes_read;
  empty_polls += o.empty_polls;
  readahead_misses += o.readahead_misses;
  torn_rereads += o.torn_rereads;
  corrupt_blocks += o.corrupt_blocks;
  malformed_blocks += o.malformed_blocks;
  missing_blocks += o.missing_blocks;
  unreadable_blocks += o.unreadable_blocks;
  lapped_resyncs += o.lapped_resyncs;
  blocks_lost_lapped += o.blocks_lost_lapped;
  epoch_changes += o.epoch_changes;
  restart_skipped_blocks += o.restart_skipped_blocks;
  stale_epoch_blocks += o.stale_epoch_blocks;
  skipped_on_attach += o.skipped_on_attach;
  too_old_blocks += o.too_old_blocks;
  too_old_frames += o.too_old_frames;
  dropped_partial_frames += o.dropped_partial_frames;
  read_errors += o.read_errors;
  auth_failed_blocks += o.auth_failed_blocks;
  auth_no_key_blocks += o.auth_no_key_blocks;
  blocks_not_for_us += o.blocks_not_for_us;
  bytes_not_for_us += o.bytes_not_for_us;
  payload_reads_saved += o.payload_reads_saved;
  delivery_age.merge(o.delivery_age);
}

std::string_view reader_event_name(ReaderEvent::Kind kind) {
  switch (kind) {
    case ReaderEvent::Kind::epoch_change:
      return "epoch-change";
    case ReaderEvent::Kind::lapped:
      return "lapped";
    case ReaderEvent::Kind::damaged:
      return "damaged";
    case ReaderEvent::Kind::missing:
      return "missing";
    case ReaderEvent::Kind::too_old:
      return "too-old";
  }
  return "?";
}

// A run of skips in one turn is one event: the owner logs a line per event, not per block.
void BlockReader::push_event(ReaderEvent::Kind kind, uint64_t sequence, uint64_t count) {
  if (!events_.empty() && events_.back().kind == kind && kind != ReaderEvent::Kind::epoch_change) {
    events_.back().sequence = sequence;
    events_.back().count += count;
    return;
  }
  events_.push_back({kind, sequence, count, epoch_});
}

size_t BlockReader::deliver(FrameSink& sink, TimePoint now) {
  size_t delivered = 0;
  if (attached_) refresh_unready(now);
  while (attached_) {
    ReadSlot& s = slot_for(next_);
    if (s.sequence != next_ || s.discard || s.state == SlotState::idle || s.state == SlotState::reading) break;

    if (s.state == SlotState::ready) {
      const BlockHeader& h = s.header;
      if (h.epoch != epoch_) {
        epoch_ = h.epoch;
        ++stats_.epoch_changes;
        push_event(ReaderEvent::Kind::epoch_change, next_, 0);
        continuous_ = false;
      }
      if (skipping_old_ && h.writer_timestamp_ns < skip_written_before_ns_) {
        ++stats_.skipped_on_attach;
        continuous_ = false;
        advance(next_ + 1, now);
        continue;
      }
      skipping_old_ = false;
      if (!h.for_slot(own_slot_)) {
        // Unicast among other nodes: consumed in order (and acknowledged), never decoded. Not
        // data for the spin or the dense-traffic test either: a parked reader stays parked.
        ++stats_.blocks_not_for_us;
        stats_.bytes_not_for_us += h.valid_bytes;
        stats_.dropped_partial_frames += assembler_.pass_over_block();
        continuous_ = true;
        streaming_ = true;  // read ahead: headers only, several in flight
        next_poll_at_ = now;
        advance(next_ + 1, now);
        continue;
      }
      // Its timestamp bounds the clock offset too, tighter than records do while data streams.
      if (h.epoch == writer_.epoch) writer_clock_.observe(h.writer_timestamp_ns, now);
      frames_.clear();
      auto taken = assembler_.take(std::span<const std::byte>(s.memory, h.valid_bytes), h, continuous_, frames_);
      stats_.dropped_partial_frames += taken.dropped_partials;
      if (!taken.well_formed) {
        ++stats_.malformed_blocks;
        push_event(ReaderEvent::Kind::damaged, next_, 1);
        continuous_ = false;
        advance(next_ + 1, now);
        continue;
      }
      if (too_old(h, now)) {
        ++stats_.too_old_blocks;
        stats_.too_old_frames += frames_.size();
        push_event(ReaderEvent::Kind::too_old, next_, frames_.size());
        continuous_ = true;
        advance(next_ + 1, now);
        continue;
      }
      if (auto age = age_ns(h, now)) stats_.delivery_age.record(*age);
      if (!frames_.empty()) {
        sink.deliver(frames_, h);
        delivery_streak_ =
            (now - last_delivery_ < options_.dense_gap ? delivery_streak_ : 0) + static_cast<unsigned>(frames_.size());
        bool dense = delivery_streak_ >= kDenseStreak;
        last_delivery_ = now;
        if (parked_ && dense) parked_ = woken_ = false;  // a stream, or requests: poll the ring again
      }
      for (const auto& f : frames_) stats_.bytes_delivered += f.size();
      stats_.frames_delivered += frames_.size();
      ++stats_.blocks_delivered;
      continuous_ = true;
      streaming_ = true;
      data_gap_ = now - last_data_at_;
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
      push_event(ReaderEvent::Kind::lapped, target, target - next_);
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
      push_event(ReaderEvent::Kind::epoch_change, writer_.first_sequence, writer_.first_sequence - next_);
      resync(writer_.first_sequence, now);
      continue;
    }
    // The torn timeout runs from when the block is known to be written (the writer is past it),
    // not from when we began waiting for it: on an idle link that is long before it was written,
    // and a block that is merely late behind the mirror must not be skipped as lost. Every block
    // the writer was known past at once shares that moment, so a run of them goes together.
    if (s.state == SlotState::failed && !s.bad_since && last_good_read_at_ >= s.read_at) s.bad_since = s.read_at;
    if (s.state == SlotState::not_yet && !next_waiting_since_ && writer_past_.since(next_)) next_waiting_since_ = now;
    if (may_skip(s, now)) {
      if (s.state == SlotState::invalid) {
        ++stats_.corrupt_blocks;
        push_event(ReaderEvent::Kind::damaged, next_, 1);
      } else {
        ++stats_.missing_blocks;
        if (s.state == SlotState::failed) ++stats_.unreadable_blocks;
        push_event(ReaderEvent::Kind::missing, next_, 1);
      }
      continuous_ = false;
      advance(next_ + 1, now);
      continue;
    }
    if (s.read_at < last_data_at_) {
      // Classified while read ahead, before the blocks in front of it came: look again first.
      refresh_unready(now);
      break;
    }
    auto deadline = skip_deadline(s);
    bool damaged = s.state != SlotState::not_yet;
    bool failed = s.state == SlotState::failed;
    ++(damaged ? stats_.torn_rereads : stats_.empty_polls);
    if (damaged || writer_past_.since(next_)) {
      // Something is wrong here: keep reading ahead to learn where the writer is.
      streaming_ = true;
      window_ = std::min(std::max(window_, 2u), static_cast<unsigned>(slots_.size()));
    } else {
      streaming_ = false;  // caught up with the writer: poll the next block alone
      window_ = 1;
    }
    s.state = SlotState::idle;
    if (failed && (!s.bad_since || (deadline && now >= *deadline && last_good_read_at_ < *deadline))) {
      // It takes a read that works, made with its own, to tell a bad place from a volume that is
      // gone: read its neighbour again beside it.
      ReadSlot& beside = slot_for(next_ + 1);
      if (window() > 1 && beside.sequence == next_ + 1 && beside.state != SlotState::reading && !beside.discard)
        beside.state = SlotState::idle;
    }
    schedule_after_miss(now);
    // Past the deadline, one more read settles it (a read that fails waits for the volume to
    // answer any read, so an outage is not taken for bad blocks); before it, wake for it.
    if (deadline && (now < *deadline || !failed)) next_poll_at_ = std::min(next_poll_at_, std::max(now, *deadline));
    break;
  }
  return delivered;
}

std::optional<TimePoint> BlockReader::next_poll() const {
  if (!attached_ || (parked_ && !woken_)) return std::nullopt;
  // Reads in flight across the whole window: their completions, not a timer, are what to wait for.
  for (size_t i = 0, width = window(); i < width; ++i)
    if (slot_for(next_ + i).state == SlotState::idle) return next_poll_at_;
  return std::nullopt;
}

}  // namespace blockxport
