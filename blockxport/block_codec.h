// Packing frames into a block (records, fragments) and unpacking them again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "blockxport/format.h"

namespace blockxport {

class Keyring;

// Large enough for a 64 KiB GSO super-frame with its Ethernet and virtio-net headers.
inline constexpr size_t kMaxFrameBytes = 128 * 1024;

using FrameSpan = std::span<const std::byte>;

// Fills one block buffer with records. A frame that does not fit in what is left is split: its
// first part ends this block and the rest starts the next one (so blocks are always full when
// traffic is heavy, whatever the frame size).
class BlockBuilder {
 public:
  // `keys`: the block will be sealed authenticated (its records leave room for the tag).
  // `version`: kBlockVersion2 carries the destinations of the frames appended.
  void start(std::span<std::byte> block, const Keyring* keys = nullptr, uint16_t version = kBlockVersion1);
  // Appends frame[offset, ...) as one record, as much as fits. Returns the bytes taken; 0 means
  // the block is full. The record is flagged first/last from offset and what fit. Every part of
  // a split frame carries the frame's `destinations`, so each block's mask covers its records.
  size_t append(FrameSpan frame, size_t offset, uint64_t destinations = kAllDestinations);
  bool empty() const { return records_ == 0; }
  bool full() const { return used_ + kRecordHeaderBytes + trailer_ >= block_.size(); }
  // Frame bytes one more record could take.
  size_t room() const { return full() ? 0 : block_.size() - used_ - kRecordHeaderBytes - trailer_; }
  uint32_t used_bytes() const { return used_; }
  uint32_t payload_bytes() const { return payload_; }
  uint32_t record_count() const { return records_; }
  // Encodes the header and checksum and zeroes padding up to `dirty_bytes` (what the buffer's
  // previous use left behind), so the block on disk is header, records, zeros. With the keys
  // given to start(), the records are authenticated (or encrypted) first, bound to `volume`.
  void seal(BlockHeader header, uint32_t dirty_bytes, const Uuid& volume = {});
  // Header, records and tag: what seal() wrote.
  uint32_t sealed_bytes() const { return used_ + trailer_; }

 private:
  std::span<std::byte> block_;
  const Keyring* keys_ = nullptr;
  uint16_t version_ = kBlockVersion1;
  uint64_t destinations_ = 0;  // the union of the appended frames'
  uint32_t trailer_ = 0;  // the tag an authenticated block ends with
  uint32_t used_ = 0;
  uint32_t payload_ = 0;
  uint32_t records_ = 0;
};

// Walks the records of blocks already checked by decode_block and yields whole frames, joining
// fragments that span blocks. Frames are views into the block or into an internal buffer and
// stay valid until the next call to take().
class FrameAssembler {
 public:
  FrameAssembler();

  struct Result {
    bool well_formed = true;        // false: records contradict the header (counted as corrupt)
    uint32_t frames = 0;            // frames appended to the output
    uint32_t dropped_partials = 0;  // fragments thrown away because their frame cannot complete
  };

  // Appends the block's complete frames to `out`. `continuous` says the block directly follows
  // the previous one given to take(); when false, a frame left open is dropped.
  Result take(std::span<const std::byte> block, const BlockHeader& header, bool continuous,
              std::vector<FrameSpan>& out);

  // Forget a frame left open (the reader jumped); returns 1 when one was dropped.
  uint32_t abandon();
  // The reader passes over a block that holds nothing for it (its destinations leave it out). A
  // frame that block ends with is not ours either (its every part carries its destinations), so
  // its tail at the start of the next block is passed over too, and not counted as dropped.
  // Returns 1 if a frame of ours was left open (it cannot complete).
  uint32_t pass_over_block();

 private:
  // Two buffers, so a frame completed by a block's first record survives a new frame started by
  // the same block's last record.
  std::vector<std::byte> partial_[2];
  int current_ = 0;
  size_t partial_length_ = 0;
  bool open_ = false;
  bool foreign_tail_ = false;  // the block before was passed over: a leading tail is not ours
};

}  // namespace blockxport
