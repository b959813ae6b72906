#include "tools/vnicctl/volume_report.h"

#include <algorithm>
#include <thread>

#include <fmt/format.h>

#include "blockxport/aligned_buffer.h"
#include "blockxport/peer_monitor.h"
#include "blockxport/sequence_recovery.h"
#include "blockxport/volume.h"
#include "blockxport/volume_check.h"

namespace vnicctl {
namespace {

using blockxport::AlignedBuffer;
using blockxport::Superblock;
using blockxport::Volume;

// O_DIRECT wants aligned buffers; 4096 covers every logical block size a superblock accepts.
constexpr size_t kIoAlignment = 4096;
constexpr int kRecordReadAttempts = 3;

std::string block_note(const blockxport::BlockDecode& decoded, const Superblock& sb, uint32_t slot,
                       uint64_t expected_sequence) {
  const blockxport::BlockHeader& h = decoded.header;
  if (decoded.check != blockxport::BlockCheck::ok) return {};
  if (h.volume_tag != sb.volume_tag()) return "left over from an earlier format of the volume";
  if (h.slot != slot) return fmt::format("written for slot {}", h.slot);
  if (h.sequence != expected_sequence) {
    return fmt::format("holds sequence {} ({} lap)", h.sequence,
                       h.sequence < expected_sequence ? "an older" : "a later");
  }
  return {};
}

std::vector<BlockReport> read_blocks_before_head(const Volume& volume, const Superblock& sb, uint32_t slot,
                                                 uint64_t head, uint64_t count) {
  // Only one lap of the ring can still be there; sequence 0 is never used.
  uint64_t span = std::min({count, sb.ring_blocks, head > 0 ? head - 1 : 0});
  std::vector<BlockReport> blocks;
  if (span == 0) return blocks;
  AlignedBuffer buffer(sb.block_size, kIoAlignment);
  for (uint64_t sequence = head - span; sequence < head; ++sequence) {
    volume.read_exact(buffer.data(), sb.block_size, sb.block_offset(slot, sequence));
    auto decoded = blockxport::decode_block(buffer.span(), sb.block_size);
    blocks.push_back(BlockReport{sequence, decoded.check, decoded.header, block_note(decoded, sb, slot, sequence)});
  }
  return blocks;
}

SlotReport read_slot(const Volume& volume, const Superblock& sb, uint32_t slot, uint64_t blocks_per_slot) {
  SlotReport report;
  report.slot = slot;
  report.record_offset = sb.state_record_offset(slot);
  AlignedBuffer buffer(blockxport::kStateRecordStride, kIoAlignment);
  // On a live volume a read can catch the writer's heartbeat half-written; a fresh read a moment
  // later is whole, so only a mismatch that persists is reported.
  for (int attempt = 0; attempt < kRecordReadAttempts; ++attempt) {
    volume.read_exact(buffer.data(), blockxport::kStateRecordStride, report.record_offset);
    report.record = blockxport::decode_state_record(buffer.span());
    if (report.record.error != blockxport::DecodeError::bad_checksum) break;
  }
  if (report.record.error != blockxport::DecodeError::none) return report;

  const blockxport::StateRecord& r = report.record.record;
  bool belongs = true;
  if (r.uuid != sb.uuid) {
    report.record_notes.push_back(
        fmt::format("written under another format (uuid {})", blockxport::format_uuid(r.uuid)));
    belongs = false;
  }
  if (r.slot != slot) {
    report.record_notes.push_back(fmt::format("claims to be slot {}", r.slot));
    belongs = false;
  }
  if (belongs && r.status != blockxport::WriterStatus::empty)
    report.blocks = read_blocks_before_head(volume, sb, slot, r.head_sequence, blocks_per_slot);
  return report;
}

}  // namespace

namespace {

// The slot claim's own rule (blockxport/peer_monitor.h, record_moved): a running record is
// somebody's only while it moves.
void judge_liveness(const Volume& volume, const Superblock& sb, std::vector<SlotReport>& slots,
                    std::chrono::milliseconds watch) {
  bool any_running = false;
  for (SlotReport& slot : slots) {
    const auto& d = slot.record;
    bool ours = d.error == blockxport::DecodeError::none && d.record.uuid == sb.uuid;
    if (d.error == blockxport::DecodeError::all_zero || (d.error == blockxport::DecodeError::none && !ours) ||
        (ours && d.record.status == blockxport::WriterStatus::empty))
      slot.liveness = SlotLiveness::free;
    else if (ours && d.record.status == blockxport::WriterStatus::clean_stop)
      slot.liveness = SlotLiveness::stopped;
    else if (ours)
      any_running = true;
  }
  if (!any_running || watch.count() <= 0) return;
  std::this_thread::sleep_for(watch);
  for (SlotReport& slot : slots) {
    const auto& before = slot.record;
    if (slot.liveness != SlotLiveness::unknown || before.error != blockxport::DecodeError::none) continue;
    auto after = blockxport::read_state_record(volume, sb, slot.slot);
    if (after.error != blockxport::DecodeError::none) {
      slot.liveness = SlotLiveness::alive;  // torn by a write while we read: somebody writes it
      continue;
    }
    slot.liveness = blockxport::record_moved(before.record, after.record) ? SlotLiveness::alive : SlotLiveness::dead;
  }
}

}  // namespace

VolumeReport inspect_volume(const std::string& path, uint64_t blocks_per_slot, std::chrono::milliseconds watch) {
  Volume volume = Volume::open(path, {blockxport::VolumeAccess::read_only, false});
  Superblock sb = blockxport::read_formatted_superblock(volume);
  VolumeReport report;
  report.path = path;
  report.backing = volume.backing_description();
  report.volume_bytes = volume.size_bytes();
  report.logical_block_size = volume.logical_block_size();
  report.block_device = volume.is_block_device();
  report.superblock = sb;
  for (uint32_t slot = 0; slot < sb.slot_count; ++slot)
    report.slots.push_back(read_slot(volume, sb, slot, blocks_per_slot));
  judge_liveness(volume, sb, report.slots, watch);
  return report;
}

std::string_view slot_liveness_name(SlotLiveness liveness) {
  switch (liveness) {
    case SlotLiveness::unknown:
      return "unknown";
    case SlotLiveness::free:
      return "free";
    case SlotLiveness::alive:
      return "alive";
    case SlotLiveness::dead:
      return "dead";
    case SlotLiveness::stopped:
      return "stopped";
  }
  return "?";
}

std::string_view writer_status_name(blockxport::WriterStatus status) {
  switch (status) {
    case blockxport::WriterStatus::empty:
      return "empty";
    case blockxport::WriterStatus::running:
      return "running";
    case blockxport::WriterStatus::clean_stop:
      return "clean stop";
  }
  return "unknown";
}

std::string epoch_hex(uint64_t epoch) { return fmt::format("0x{:016x}", epoch); }

std::string_view block_protection(const blockxport::BlockHeader& header) {
  if (header.encrypted()) return "encrypted";
  return header.authenticated() ? "authenticated" : "none";
}

std::string key_id_hex(uint32_t key_id) { return fmt::format("{:08x}", key_id); }

}  // namespace vnicctl
