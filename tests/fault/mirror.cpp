#include "mirror.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "blockxport/volume_check.h"

namespace vnic_fault {
namespace {

using blockxport::AlignedBuffer;
using blockxport::BlockCheck;
using blockxport::Nanos;

constexpr int kMaxRoundsPerPass = 4;  // then the state record and the due copies get a turn
constexpr uint32_t kMaxWindow = 32;
constexpr uint64_t kStateKey = ~0ull;     // MirrorIo key of the state table (ring positions are the others)
constexpr uint32_t kCopyChunk = 1 << 20;  // full copies go in pieces of this size
constexpr auto kRevertSoon = std::chrono::milliseconds(2);
constexpr auto kTornRetry = std::chrono::milliseconds(1);
constexpr auto kMaxStateHold = std::chrono::milliseconds(50);

struct FrameCount {
  uint64_t whole = 0;      // records that are both the first and the last part of their frame
  bool ends_open = false;  // the last record starts a frame that the next block ends
};

// Frames split across blocks are counted by the reader itself when it drops their other half;
// only those wholly inside a lost block (or inside two consecutive lost blocks) are not.
FrameCount count_frames(const AlignedBuffer& block, uint32_t block_size) {
  FrameCount count;
  auto d = blockxport::decode_block(block.span(), block_size);
  if (d.check != BlockCheck::ok) return count;
  size_t pos = blockxport::kBlockHeaderBytes;
  for (uint32_t i = 0; i < d.header.record_count && pos + blockxport::kRecordHeaderBytes <= d.header.valid_bytes; ++i) {
    auto rec = blockxport::decode_record_header(block.data() + pos);
    bool first = rec.flags & blockxport::kRecordFirst, last = rec.flags & blockxport::kRecordLast;
    if (first && last) ++count.whole;
    count.ends_open = !last;
    pos += blockxport::kRecordHeaderBytes + rec.length;
  }
  return count;
}

}  // namespace

nlohmann::json to_json(const MirrorStats& s) {
  return {{"blocks_seen", s.blocks_seen},
          {"block_writes", s.block_writes},
          {"state_writes", s.state_writes},
          {"bytes_written", s.bytes_written},
          {"reordered", s.reordered},
          {"torn", s.torn},
          {"torn_never", s.torn_never},
          {"torn_harmless", s.torn_harmless},
          {"bitflips", s.bitflips},
          {"bitflips_in_header", s.bitflips_in_header},
          {"stale", s.stale},
          {"stale_never", s.stale_never},
          {"duplicates", s.duplicates},
          {"duplicates_skipped", s.duplicates_skipped},
          {"pauses", s.pauses},
          {"vanishes", s.vanishes},
          {"lapped_jumps", s.lapped_jumps},
          {"epoch_jumps", s.epoch_jumps},
          {"burst_damaged", s.burst_damaged},
          {"burst_lost", s.burst_lost},
          {"garbage_ahead", s.garbage_ahead},
          {"state_damaged", s.state_damaged},
          {"destroyed_blocks", s.destroyed_blocks},
          {"destroyed_frames", s.destroyed_frames},
          {"next_sequence", s.next_sequence}};
}

Mirror::Mirror(const MirrorOptions& options)
    : options_(options),
      src_(blockxport::Volume::open(options.src, {blockxport::VolumeAccess::read_only, false})),
      dst_(blockxport::Volume::open(options.dst, {blockxport::VolumeAccess::read_write, false})),
      rng_(options.seed) {
  sb_ = blockxport::read_formatted_superblock(src_);
  if (options_.slot >= sb_.slot_count)
    throw std::invalid_argument(fmt::format("{}: slot {} does not exist", options_.src, options_.slot));
  if (dst_.size_bytes() < sb_.required_volume_bytes())
    throw std::invalid_argument(fmt::format("{}: smaller than {} bytes", options_.dst, sb_.required_volume_bytes()));
  lbs_ = std::max(src_.logical_block_size(), dst_.logical_block_size());
  dst_sequence_.assign(sb_.ring_blocks, 0);
  max_window_ = static_cast<uint32_t>(std::min<uint64_t>(kMaxWindow, sb_.ring_blocks / 2));
  io_ = std::make_unique<MirrorIo>(src_.fd(), dst_.fd());
}

std::shared_ptr<AlignedBuffer> Mirror::read_src(uint64_t offset, uint32_t length) const {
  auto buffer = std::make_shared<AlignedBuffer>(length, 4096);
  src_.read_exact(buffer->data(), length, offset);
  return buffer;
}

bool Mirror::ours(const blockxport::BlockDecode& d) const {
  return d.check == BlockCheck::ok && d.header.slot == options_.slot && d.header.volume_tag == sb_.volume_tag();
}

AlignedBuffer Mirror::read_image() const {
  uint64_t total = sb_.required_volume_bytes();
  AlignedBuffer image(total, 4096);
  for (uint64_t at = 0; at < total; at += kCopyChunk) {
    auto length = static_cast<uint32_t>(std::min<uint64_t>(kCopyChunk, total - at));
    src_.read_exact(image.data() + at, length, at);
  }
  return image;
}

// Copies the source whole, in an order a reader can follow while it happens: the superblock, the
// writer's blocks oldest first, and the state table last, so that no record or newer block is
// ever there ahead of an older block still missing.
void Mirror::initial_sync() {
  AlignedBuffer image = read_image();
  auto put = [&](uint64_t offset, uint64_t length) {
    if (length > 0) dst_.write_exact(image.data() + offset, length, offset);
  };
  uint64_t state_end = blockxport::kStateTableOffset + sb_.state_table_bytes();
  put(0, blockxport::kStateTableOffset);
  put(state_end, sb_.rings_offset() - state_end);
  for (uint32_t slot = 0; slot < sb_.slot_count; ++slot)
    if (slot != options_.slot) put(sb_.ring_offset(slot), sb_.ring_blocks * sb_.block_size);
  std::vector<std::pair<uint64_t, uint64_t>> order;  // (sequence, ring position); 0: not the writer's
  for (uint64_t p = 0; p < sb_.ring_blocks; ++p) {
    uint64_t offset = sb_.block_offset(options_.slot, p);
    auto d =
        blockxport::decode_block(std::span<const std::byte>(image.data() + offset, sb_.block_size), sb_.block_size);
    order.emplace_back(ours(d) ? d.header.sequence : 0, p);
  }
  std::sort(order.begin(), order.end());
  for (auto [sequence, p] : order) put(sb_.block_offset(options_.slot, p), sb_.block_size);
  put(blockxport::kStateTableOffset, sb_.state_table_bytes());
  learn(image);
}

// A volume coming back: written into an empty file from the first ring to the end, so that a
// reader finds either what the source holds or the end of the file (a failed read), never zeros
// where a block should be; the superblock and state table go last, so that no record promises a
// block that has not come back yet (until then the record reads as never written).
void Mirror::rebuild() {
  AlignedBuffer image = read_image();
  uint64_t total = sb_.required_volume_bytes(), rings = sb_.rings_offset();
  for (uint64_t at = rings; at < total; at += kCopyChunk)
    dst_.write_exact(image.data() + at, std::min<uint64_t>(kCopyChunk, total - at), at);
  dst_.write_exact(image.data(), rings, 0);
  if (::ftruncate(dst_.fd(), static_cast<off_t>(dst_.size_bytes())) != 0)
    throw std::runtime_error(fmt::format("{}: ftruncate: {}", options_.dst, std::strerror(errno)));
  learn(image);
}

// Where the writer is, from a copy of the whole source: after the newest of its blocks, or at
// its recorded head.
void Mirror::learn(const AlignedBuffer& image) {
  uint64_t newest = 0;
  for (uint64_t p = 0; p < sb_.ring_blocks; ++p) {
    uint64_t offset = sb_.block_offset(options_.slot, p);
    auto d =
        blockxport::decode_block(std::span<const std::byte>(image.data() + offset, sb_.block_size), sb_.block_size);
    dst_sequence_[p] = ours(d) ? d.header.sequence : 0;
    newest = std::max(newest, dst_sequence_[p]);
  }
  expect_ = newest + 1;
  uint64_t state_end = blockxport::kStateTableOffset + sb_.state_table_bytes();
  last_state_.assign(image.data() + blockxport::kStateTableOffset, image.data() + state_end);
  auto record = blockxport::decode_state_record(std::span(last_state_).subspan(options_.slot * 4096ull, 4096));
  if (record.error == blockxport::DecodeError::none) {
    epoch_ = record.record.epoch;
    expect_ = std::max(expect_, record.record.head_sequence);
  }
  stats_.next_sequence = expect_;
}

bool Mirror::step(TimePoint now) {
  if (paused_) return false;
  bool found = capture(now);
  bool wrote = apply_due(now);
  return found || wrote;
}

std::optional<TimePoint> Mirror::next_due() const {
  if (paused_ || jobs_.empty()) return std::nullopt;
  return jobs_.begin()->first;
}

// The state table is read before the blocks (a restarted writer's record says where its blocks
// begin) but copied after them, and only once every block below the head it names has been
// copied too: an order-keeping mirror never shows a record ahead of its blocks. That can hold a
// record back while the mirror catches up (after an outage), never longer than kMaxStateHold.
bool Mirror::capture(TimePoint now) {
  auto table = read_state(now);
  bool blocks = capture_blocks(now);
  bool state = false;
  if (table) {
    if (!state_held_since_) state_held_since_ = now;
    if (state_head_ <= expect_ || now - *state_held_since_ >= kMaxStateHold) {
      std::memcpy(last_state_.data(), table->data(), last_state_.size());
      state_held_since_.reset();
      if (state_damage_pending_ > 0) {
        // The copy lands damaged (the source keeps it whole): a bit in the followed record's body.
        --state_damage_pending_;
        ++stats_.state_damaged;
        auto damaged = std::make_shared<AlignedBuffer>(table->size(), 4096);
        std::memcpy(damaged->data(), table->data(), table->size());
        damaged->data()[options_.slot * 4096ull + 16 + rng_() % 64] ^= std::byte(1u << (rng_() % 8));
        table = damaged;
      }
      Job job{JobKind::state, 0, table, blockxport::kStateTableOffset, 0, static_cast<uint32_t>(table->size())};
      schedule(now + options_.lag, std::move(job));
      state = true;
    }
  }
  stats_.next_sequence = expect_;
  return state || blocks;
}

// The state table when any byte of it changed since the last copy (heartbeats, heads, acks).
std::shared_ptr<AlignedBuffer> Mirror::read_state(TimePoint /*now*/) {
  auto table = read_src(blockxport::kStateTableOffset, static_cast<uint32_t>(sb_.state_table_bytes()));
  if (std::equal(last_state_.begin(), last_state_.end(), table->data())) return nullptr;
  state_head_ = 0;
  auto record = blockxport::decode_state_record(table->span().subspan(options_.slot * 4096ull, 4096));
  if (record.error == blockxport::DecodeError::none && record.record.uuid == sb_.uuid &&
      record.record.status != blockxport::WriterStatus::empty) {
    state_head_ = record.record.head_sequence;
    if (record.record.epoch != epoch_) {
      epoch_ = record.record.epoch;
      // A restarted writer skips sequences it may have had in flight: they never come.
      if (record.record.epoch_first_sequence > expect_) {
        expect_ = record.record.epoch_first_sequence;
        ++stats_.epoch_jumps;
      }
    }
  }
  return table;
}

// Follows the writer through a window of sequences read in parallel: the first 4 KiB of each
// says whether it is there and how much of it is valid; only that much more is read (and later
// written), as the rest is padding no reader interprets (--whole-blocks copies it too). The
// window doubles while every block in it was there and shrinks to what was.
bool Mirror::capture_blocks(TimePoint now) {
  bool found = false;
  const uint32_t probe = std::min(std::max<uint32_t>(lbs_, 4096), sb_.block_size);
  for (int round = 0; round < kMaxRoundsPerPass; ++round) {
    if (expect_ == torn_expect_ && now < torn_retry_at_) return found;
    std::vector<MirrorRead> heads(window_);
    for (uint32_t i = 0; i < window_; ++i) heads[i] = {sb_.block_offset(options_.slot, expect_ + i), probe, nullptr, 0};
    io_->read_all(heads);

    std::vector<uint32_t> lengths;
    std::vector<MirrorRead> rests;
    std::vector<size_t> rest_of;
    for (uint32_t i = 0; i < window_; ++i) {
      auto d = blockxport::decode_block(heads[i].buffer->span(), sb_.block_size);
      bool plausible = (d.check == BlockCheck::ok || d.check == BlockCheck::need_more) &&
                       d.header.slot == options_.slot && d.header.volume_tag == sb_.volume_tag() &&
                       (d.header.sequence == expect_ + i || (i == 0 && d.header.sequence > expect_ &&
                                                             (d.header.sequence - expect_) % sb_.ring_blocks == 0));
      if (!plausible) break;  // not written yet (an older lap, zeros), or being written
      uint32_t length = options_.whole_blocks ? sb_.block_size : round_to_lbs(d.header.valid_bytes);
      if (length > probe) {
        rest_of.push_back(i);
        rests.push_back({heads[i].offset + probe, length - probe, nullptr, 0});
      }
      lengths.push_back(length);
    }
    io_->read_all(rests);

    uint32_t taken = 0;
    bool jumped = false;
    for (uint32_t i = 0, r = 0; i < lengths.size(); ++i) {
      auto block = std::make_shared<AlignedBuffer>(lengths[i], 4096);
      std::memcpy(block->data(), heads[i].buffer->data(), std::min(lengths[i], probe));
      if (r < rest_of.size() && rest_of[r] == i) {
        std::memcpy(block->data() + probe, rests[r].buffer->data(), lengths[i] - probe);
        ++r;
      }
      auto d = blockxport::decode_block(block->span(), sb_.block_size);
      if (!ours(d) || d.header.sequence < expect_) {
        // Torn: the writer is writing it now, or died doing so. Look again a little later.
        if (i == 0) {
          torn_expect_ = expect_;
          torn_retry_at_ = now + kTornRetry;
        }
        break;
      }
      if (d.header.sequence != expect_) {
        expect_ = d.header.sequence;  // lapped during an outage: what was overwritten is gone
        ++stats_.lapped_jumps;
        take_block(std::move(block), expect_++, now);
        jumped = true;
        taken = 0;
        break;  // the window was planned for the old position
      }
      take_block(std::move(block), expect_++, now);
      ++taken;
    }
    found = found || taken > 0 || jumped;
    if (taken < window_) {
      window_ = std::max<uint32_t>(1, taken);
      return found;
    }
    window_ = std::min(window_ * 2, max_window_);
  }
  return found;
}

uint32_t Mirror::round_to_lbs(uint32_t bytes) const {
  uint32_t rounded = (bytes + lbs_ - 1) / lbs_ * lbs_;
  return std::clamp(rounded, lbs_, sb_.block_size);
}

Nanos Mirror::up_to(std::chrono::milliseconds limit) {
  auto ns = std::chrono::duration_cast<Nanos>(limit).count();
  return Nanos(ns <= 0 ? 0 : 1 + static_cast<int64_t>(rng_() % static_cast<uint64_t>(ns)));
}

void Mirror::destroyed(const AlignedBuffer& block, uint64_t sequence) {
  ++stats_.destroyed_blocks;
  auto count = count_frames(block, sb_.block_size);
  stats_.destroyed_frames += count.whole;
  // A frame that began in the previous block, also lost, and ends here: the reader never sees
  // either half, so it counts nothing.
  if (last_destroyed_open_ && last_destroyed_ + 1 == sequence) ++stats_.destroyed_frames;
  last_destroyed_ = sequence;
  last_destroyed_open_ = count.ends_open;
}

// Decides this block's fate: at most one kind of damage, then perhaps a late landing and a
// second copy.
void Mirror::take_block(std::shared_ptr<AlignedBuffer> data, uint64_t sequence, TimePoint now) {
  ++stats_.blocks_seen;
  auto header = blockxport::decode_block(data->span(), sb_.block_size).header;
  uint64_t offset = sb_.block_offset(options_.slot, sequence);
  TimePoint when = now + options_.lag;
  if (chance(options_.reorder_rate)) {
    when += up_to(options_.reorder_hold);
    ++stats_.reordered;
  }
  auto length = static_cast<uint32_t>(data->size());
  Job job{JobKind::block, sequence, data, offset, 0, length};

  if (lose_pending_ > 0) {
    --lose_pending_;
    ++stats_.burst_lost;
    destroyed(*data, sequence);  // never copied: the place keeps what it held
    return;
  }

  bool burst = damage_pending_ > 0;
  if (burst) {
    --damage_pending_;
    ++stats_.burst_damaged;
  }
  if (burst || chance(options_.bitflip_rate)) {
    // A flipped bit in the padding is harmless by design; the ones that matter are in the header
    // and the records, so that is where they go (a third of them in the header).
    auto copy = std::make_shared<AlignedBuffer>(length, 4096);
    std::memcpy(copy->data(), data->data(), length);
    uint32_t valid = header.valid_bytes;
    bool in_header = valid <= blockxport::kBlockHeaderBytes || rng_() % 3 == 0;
    uint64_t byte = in_header ? rng_() % blockxport::kBlockHeaderBytes
                              : blockxport::kBlockHeaderBytes + rng_() % (valid - blockxport::kBlockHeaderBytes);
    copy->data()[byte] ^= std::byte(1u << (rng_() % 8));
    ++stats_.bitflips;
    if (in_header) ++stats_.bitflips_in_header;
    destroyed(*data, sequence);
    job.data = copy;
    schedule(when, std::move(job));
    return;
  }

  if (chance(options_.torn_rate)) {
    uint32_t units = length / lbs_;
    uint32_t valid_units = (header.valid_bytes + lbs_ - 1) / lbs_;
    if (units >= 2) {
      // Split inside the valid bytes when there is room, so that a lost part always matters.
      uint32_t span = valid_units >= 2 ? valid_units : units;
      uint32_t split = lbs_ * static_cast<uint32_t>(1 + rng_() % (span - 1));
      bool head_first = rng_() % 2 == 0;
      Job first = job, rest = job;
      first.begin = head_first ? 0 : split;
      first.length = head_first ? split : length - split;
      rest.kind = JobKind::torn_rest;
      rest.begin = head_first ? split : 0;
      rest.length = head_first ? length - split : split;
      ++stats_.torn;
      schedule(when, std::move(first));
      if (chance(options_.torn_never)) {
        ++stats_.torn_never;
        if (head_first && split >= header.valid_bytes)
          ++stats_.torn_harmless;
        else
          destroyed(*data, sequence);
      } else {
        schedule(when + up_to(options_.torn_delay), std::move(rest));
      }
      return;
    }
  }

  if (chance(options_.stale_rate)) {
    if (chance(options_.stale_never)) {
      ++stats_.stale_never;  // the slot keeps the older lap's block
      destroyed(*data, sequence);
      return;
    }
    ++stats_.stale;
    job.stale = true;
  }

  bool duplicate = chance(options_.duplicate_rate);
  if (duplicate) {
    Job again = job;
    again.kind = JobKind::duplicate;
    again.stale = false;
    schedule(when + up_to(options_.duplicate_delay), std::move(again));
  }
  schedule(when, std::move(job));
}

bool Mirror::apply_due(TimePoint now) {
  io_->poll(Nanos{0});
  bool wrote = false;
  while (!paused_ && !jobs_.empty() && jobs_.begin()->first <= now) {
    const Job& next = jobs_.begin()->second;
    // The state table describes the blocks before it: they land first, then it, then the rest.
    // Writes to one place never overtake each other; all others may (as in any array).
    bool blocked = next.kind == JobKind::state ? io_->writes_in_flight() > 0
                                               : io_->busy(kStateKey) || io_->busy(position(next.sequence));
    if (blocked) break;
    auto when = jobs_.begin()->first;
    Job job = std::move(jobs_.begin()->second);
    jobs_.erase(jobs_.begin());
    if (!apply(job, now)) {
      jobs_.emplace_hint(jobs_.begin(), when, std::move(job));  // the engine is full: first again
      break;
    }
    wrote = true;
  }
  return wrote;
}

bool Mirror::apply(Job& job, TimePoint now) {
  if (job.kind == JobKind::state) {
    if (!write(kStateKey, job)) return false;
    ++stats_.state_writes;
    return true;
  }
  uint64_t& landed = dst_sequence_[position(job.sequence)];
  // Second parts, second copies and reverts only make sense while the slot still holds the block.
  if (job.kind != JobKind::block && landed != job.sequence) {
    if (job.kind == JobKind::duplicate) ++stats_.duplicates_skipped;
    return true;
  }
  std::shared_ptr<AlignedBuffer> older;
  if (job.stale) {
    // What the slot holds now is the older lap: keep it, to put it back after this block landed.
    older = std::make_shared<AlignedBuffer>(job.length, 4096);
    dst_.read_exact(older->data(), job.length, job.offset);
  }
  if (!write(position(job.sequence), job)) return false;
  if (job.kind == JobKind::duplicate) ++stats_.duplicates;
  if (older) {
    Job revert{JobKind::stale_revert, job.sequence, older, job.offset, 0, job.length};
    Job repair{JobKind::stale_repair, job.sequence, job.data, job.offset, 0, job.length};
    TimePoint revert_at = now + up_to(kRevertSoon);
    schedule(revert_at, std::move(revert));
    schedule(revert_at + options_.stale_hold, std::move(repair));
  }
  landed = job.sequence;
  ++stats_.block_writes;
  return true;
}

bool Mirror::write(uint64_t key, const Job& job) {
  if (!io_->write(key, job.data, job.begin, job.length, job.offset)) return false;
  stats_.bytes_written += job.length;
  return true;
}

void Mirror::wait_until(TimePoint when) {
  if (io_->writes_in_flight() > 0)
    io_->poll(std::max(Nanos{0}, std::chrono::duration_cast<Nanos>(when - Clock::now())));
  else
    std::this_thread::sleep_until(when);
}

void Mirror::pause() {
  if (paused_) return;
  paused_ = true;
  ++stats_.pauses;
}

void Mirror::resume() {
  if (vanished_) {
    // Copies queued before the volume went are older than the resynchronisation: drop them.
    jobs_.clear();
    uint64_t keep_expect = expect_;
    rebuild();
    // The image was read while the writer went on: a block it wrote to a part already read is
    // missing from it. Those lie between where the mirror was and where the image says the
    // writer is; copy them now, then follow on from the image's head.
    repair(std::min(keep_expect, expect_), expect_);
    vanished_ = false;
  }
  paused_ = false;
}

void Mirror::repair(uint64_t from, uint64_t to) {
  const uint32_t probe = std::min(std::max<uint32_t>(lbs_, 4096), sb_.block_size);
  to = std::min(to, from + sb_.ring_blocks);
  std::vector<MirrorRead> heads;
  for (uint64_t q = from; q < to; ++q) heads.push_back({sb_.block_offset(options_.slot, q), probe, nullptr, 0});
  io_->read_all(heads);
  auto now = Clock::now();
  for (uint64_t q = from; q < to; ++q) {
    auto d = blockxport::decode_block(heads[q - from].buffer->span(), sb_.block_size);
    bool there = (d.check == BlockCheck::ok || d.check == BlockCheck::need_more) && d.header.slot == options_.slot &&
                 d.header.volume_tag == sb_.volume_tag() && d.header.sequence == q;
    if (!there || dst_sequence_[position(q)] == q) continue;
    uint32_t length = options_.whole_blocks ? sb_.block_size : round_to_lbs(d.header.valid_bytes);
    auto block = std::make_shared<AlignedBuffer>(length, 4096);
    src_.read_exact(block->data(), length, sb_.block_offset(options_.slot, q));
    schedule(now, Job{JobKind::block, q, block, sb_.block_offset(options_.slot, q), 0, length});
  }
}

void Mirror::garbage_ahead(uint64_t count) {
  count = std::min<uint64_t>(count, sb_.ring_blocks - 1);
  AlignedBuffer garbage(sb_.block_size, 4096);
  for (uint64_t q = expect_; q < expect_ + count; ++q) {
    for (size_t i = 0; i < garbage.size(); ++i) garbage.data()[i] = std::byte(rng_());
    dst_.write_exact(garbage.data(), sb_.block_size, sb_.block_offset(options_.slot, q));
    dst_sequence_[position(q)] = 0;
  }
  stats_.garbage_ahead += count;
  lose_next(count);
}

void Mirror::vanish() {
  pause();
  if (vanished_) return;
  io_->drain();  // a write landing after the truncation would bring part of the volume back
  if (::ftruncate(dst_.fd(), 0) != 0)
    throw std::runtime_error(fmt::format("{}: ftruncate: {}", options_.dst, std::strerror(errno)));
  vanished_ = true;
  ++stats_.vanishes;
}

}  // namespace vnic_fault
