#include "blockxport/sequence_recovery.h"

#include <algorithm>

#include <fmt/format.h>

#include "blockxport/aligned_buffer.h"
#include "blockxport/volume_check.h"

namespace blockxport {

StateRecordDecode read_state_record(const Volume& volume, const Superblock& sb, uint32_t slot) {
  AlignedBuffer buffer(kStateRecordStride, 4096);
  volume.read_exact(buffer.data(), kStateRecordStride, sb.state_record_offset(slot));
  return decode_state_record(buffer.span());
}

RecoveredSequence recover_sequence(const Volume& volume, const Superblock& sb, uint32_t slot,
                                   const StateRecordDecode& decoded) {
  RecoveredSequence out;
  if (decoded.error == DecodeError::all_zero || decoded.record.uuid != sb.uuid ||
      decoded.record.status == WriterStatus::empty)
    return out;  // a fresh volume (or one re-formatted since that record)
  if (decoded.error != DecodeError::none)
    throw VolumeError(
        fmt::format("{}: own state record (slot {}) is unreadable: {}", volume.path(), slot, decoded.message));
  out.heartbeat = decoded.record.heartbeat;
  uint64_t head = std::max<uint64_t>(decoded.record.head_sequence, 1);
  if (decoded.record.status == WriterStatus::clean_stop) {
    out.first_sequence = head;  // every write had completed; nothing can be in doubt
    return out;
  }
  // A crash: the record's head lags what reached the ring. Walk our own blocks past it.
  uint32_t lbs = volume.logical_block_size();
  AlignedBuffer block(std::max<uint32_t>(lbs, 4096), 4096);
  uint64_t sequence = head;
  for (uint64_t walked = 0; walked < sb.ring_blocks; ++walked, ++sequence) {
    volume.read_exact(block.data(), lbs, sb.block_offset(slot, sequence));
    auto d = decode_block(std::span<const std::byte>(block.data(), lbs), sb.block_size);
    // The header alone is enough: a torn block still proves its sequence was handed out.
    bool ours = (d.check == BlockCheck::ok || d.check == BlockCheck::need_more) &&
                d.header.volume_tag == sb.volume_tag() && d.header.slot == slot && d.header.sequence == sequence;
    if (!ours) break;
    ++out.restart_scan_blocks;
  }
  out.first_sequence = sequence + kRestartSequenceGap;
  return out;
}

}  // namespace blockxport
