#include "blockxport/block_codec.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "blockxport/block_auth.h"

namespace blockxport {

void BlockBuilder::start(std::span<std::byte> block, const Keyring* keys, uint16_t version) {
  block_ = block;
  keys_ = keys;
  version_ = version;
  destinations_ = 0;
  trailer_ = keys ? static_cast<uint32_t>(kAuthTagBytes) : 0;
  used_ = version == kBlockVersion2 ? kBlockHeaderV2Bytes : kBlockHeaderBytes;
  payload_ = 0;
  records_ = 0;
}

size_t BlockBuilder::append(FrameSpan frame, size_t offset, uint64_t destinations) {
  if (full()) return 0;
  destinations_ |= destinations;
  size_t room = this->room();
  size_t take = std::min(room, frame.size() - offset);
  uint16_t flags = 0;
  if (offset == 0) flags |= kRecordFirst;
  if (offset + take == frame.size()) flags |= kRecordLast;
  encode_record_header(RecordHeader{static_cast<uint32_t>(take), flags}, block_.data() + used_);
  std::memcpy(block_.data() + used_ + kRecordHeaderBytes, frame.data() + offset, take);
  used_ += static_cast<uint32_t>(kRecordHeaderBytes + take);
  payload_ += static_cast<uint32_t>(take);
  ++records_;
  return take;
}

void BlockBuilder::seal(BlockHeader header, uint32_t dirty_bytes, const Uuid& volume) {
  if (dirty_bytes > used_) std::memset(block_.data() + used_, 0, dirty_bytes - used_);
  header.record_count = records_;
  header.valid_bytes = used_ + trailer_;
  header.version = version_;
  header.destinations = version_ == kBlockVersion2 ? destinations_ : kAllDestinations;
  if (!keys_) {
    header.flags = 0;
    header.key_id = 0;
    seal_block(header, block_);
    return;
  }
  header.flags = keys_->block_flags();
  header.key_id = keys_->write_key_id();
  // Tag over the encoded header and the records, then the CRC over all of it: checksum last.
  encode_block_header(header, block_);
  keys_->seal_block(block_, header, volume);
  finish_block(block_);
}

FrameAssembler::FrameAssembler() {
  partial_[0].resize(kMaxFrameBytes);
  partial_[1].resize(kMaxFrameBytes);
}

uint32_t FrameAssembler::pass_over_block() {
  uint32_t dropped = abandon();
  foreign_tail_ = true;
  return dropped;
}

uint32_t FrameAssembler::abandon() {
  bool was_open = open_;
  open_ = false;
  partial_length_ = 0;
  return was_open ? 1 : 0;
}

FrameAssembler::Result FrameAssembler::take(std::span<const std::byte> block, const BlockHeader& header,
                                            bool continuous, std::vector<FrameSpan>& out) {
  Result result;
  if (!continuous) result.dropped_partials += abandon();
  bool foreign_tail = std::exchange(foreign_tail_, false);

  // First pass: the records must exactly tile [header, records_end), or nothing in the block is trusted.
  const size_t end = header.records_end();
  size_t pos = header.header_bytes();
  for (uint32_t i = 0; i < header.record_count; ++i) {
    if (pos + kRecordHeaderBytes > end) return Result{false, 0, result.dropped_partials};
    RecordHeader rec = decode_record_header(block.data() + pos);
    bool first = rec.flags & kRecordFirst, last = rec.flags & kRecordLast;
    bool flags_known = (rec.flags & ~(kRecordFirst | kRecordLast)) == 0;
    // Only the first record may continue a frame, only the last may leave one open.
    bool placement_ok = (first || i == 0) && (last || i + 1 == header.record_count);
    if (!flags_known || !placement_ok || rec.length == 0 || pos + kRecordHeaderBytes + rec.length > end)
      return Result{false, 0, result.dropped_partials};
    pos += kRecordHeaderBytes + rec.length;
  }
  if (pos != end) return Result{false, 0, result.dropped_partials};

  pos = header.header_bytes();
  for (uint32_t i = 0; i < header.record_count; ++i) {
    RecordHeader rec = decode_record_header(block.data() + pos);
    FrameSpan bytes = block.subspan(pos + kRecordHeaderBytes, rec.length);
    pos += kRecordHeaderBytes + rec.length;
    bool first = rec.flags & kRecordFirst, last = rec.flags & kRecordLast;

    if (first) {
      result.dropped_partials += abandon();
      if (last) {
        out.push_back(bytes);
        ++result.frames;
        continue;
      }
      // A frame completed from partial_[current_] earlier in this block may still be in `out`.
      current_ ^= 1;
      open_ = true;
    } else if (!open_) {
      if (!(foreign_tail && i == 0)) ++result.dropped_partials;  // the tail of a frame whose head we never saw
      continue;
    }
    if (partial_length_ + bytes.size() > kMaxFrameBytes) {
      result.dropped_partials += abandon();
      continue;
    }
    std::memcpy(partial_[current_].data() + partial_length_, bytes.data(), bytes.size());
    partial_length_ += bytes.size();
    if (last) {
      out.emplace_back(partial_[current_].data(), partial_length_);
      ++result.frames;
      open_ = false;
      partial_length_ = 0;
    }
  }
  return result;
}

}  // namespace blockxport
