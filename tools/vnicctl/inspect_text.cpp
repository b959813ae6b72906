// The human-readable rendering of `vnicctl inspect`.
#include <string>

#include <fmt/format.h>

#include "blockxport/slot_claim.h"
#include "tools/common/iso_time.h"
#include "tools/common/size_parse.h"
#include "tools/vnicctl/volume_report.h"

namespace vnicctl {
namespace {

using vnic_tools::format_size;

void print_blocks(const SlotReport& slot, uint64_t head) {
  fmt::print("  last {} block{} before head {}:\n", slot.blocks.size(), slot.blocks.size() == 1 ? "" : "s", head);
  fmt::print("    {:>12}  {:<18}  {:>8}  {:>7}  {}\n", "sequence", "epoch", "valid", "records", "check");
  for (const BlockReport& b : slot.blocks) {
    if (b.check == blockxport::BlockCheck::ok) {
      std::string protection = b.header.authenticated() ? fmt::format(", {} (key {})", block_protection(b.header),
                                                                      key_id_hex(b.header.key_id))
                                                        : "";
      fmt::print("    {:>12}  {:<18}  {:>8}  {:>7}  ok{}{}\n", b.sequence, epoch_hex(b.header.epoch),
                 b.header.valid_bytes, b.header.record_count, protection, b.note.empty() ? "" : ", " + b.note);
    } else {
      fmt::print("    {:>12}  {:<18}  {:>8}  {:>7}  {}\n", b.sequence, "-", "-", "-",
                 blockxport::block_check_name(b.check));
    }
  }
}

void print_slot(const SlotReport& slot) {
  fmt::print("\nslot {} (state record at offset {})\n", slot.slot, slot.record_offset);
  const auto& decoded = slot.record;
  if (decoded.error == blockxport::DecodeError::all_zero) {
    fmt::print("  free (never written)\n");
    return;
  }
  if (decoded.error != blockxport::DecodeError::none) {
    fmt::print("  bad state record: {}\n", decoded.message);
    return;
  }
  const blockxport::StateRecord& r = decoded.record;
  for (const std::string& note : slot.record_notes) fmt::print("  note: {}\n", note);
  fmt::print("  {:<22}{}\n", "slot is", slot_liveness_name(slot.liveness));
  if (r.version == blockxport::kStateRecordVersion2) fmt::print("  {:<22}{}\n", "owner", blockxport::describe_owner(r));
  fmt::print("  {:<22}{}\n", "status", writer_status_name(r.status));
  fmt::print("  {:<22}{}\n", "epoch", epoch_hex(r.epoch));
  fmt::print("  {:<22}{}\n", "heartbeat", r.heartbeat);
  fmt::print("  {:<22}{}\n", "head sequence", r.head_sequence);
  fmt::print("  {:<22}{}\n", "epoch first sequence", r.epoch_first_sequence);
  fmt::print("  {:<22}{} ns\n", "writer monotonic", r.writer_monotonic_ns);
  if (r.auth)
    fmt::print("  {:<22}key {} (echoes peer epoch {}, heartbeat {})\n", "authenticated", key_id_hex(r.auth->key_id),
               epoch_hex(r.auth->peer_epoch), r.auth->peer_heartbeat);
  else
    fmt::print("  {:<22}no\n", "authenticated");
  std::string acks;
  for (size_t j = 0; j < r.acks.size(); ++j) {
    if (r.acks[j] != 0) acks += fmt::format("{}slot {}: {}", acks.empty() ? "" : ", ", j, r.acks[j]);
  }
  fmt::print("  {:<22}{}\n", "acks", acks.empty() ? "none" : acks);
  if (!slot.blocks.empty()) print_blocks(slot, r.head_sequence);
}

}  // namespace

void print_volume_report(const VolumeReport& report) {
  const blockxport::Superblock& sb = report.superblock;
  uint64_t ring_bytes = sb.ring_blocks * sb.block_size;
  fmt::print("{:<20}{}\n", "volume", report.path);
  fmt::print("{:<20}{}\n", "backing", report.backing);
  fmt::print("{:<20}{} bytes ({})\n", "volume size", report.volume_bytes, format_size(report.volume_bytes));
  fmt::print("{:<20}{}\n", "logical block size", report.logical_block_size);
  fmt::print("{:<20}{}\n", "uuid", blockxport::format_uuid(sb.uuid));
  fmt::print("{:<20}{}\n", "format version", sb.format_version);
  fmt::print("{:<20}{}\n", "label", sb.label.empty() ? "(none)" : "'" + sb.label + "'");
  fmt::print("{:<20}{} ({})\n", "block size", sb.block_size, format_size(sb.block_size));
  fmt::print("{:<20}{}\n", "slots", sb.slot_count);
  fmt::print("{:<20}{} per slot ({} bytes, {})\n", "ring blocks", sb.ring_blocks, ring_bytes, format_size(ring_bytes));
  fmt::print("{:<20}{}\n", "rings offset", sb.rings_offset());
  fmt::print("{:<20}{} bytes\n", "format needs", sb.required_volume_bytes());
  fmt::print("{:<20}{}\n", "created", vnic_tools::iso8601_utc(sb.created_unix_ns));
  for (const SlotReport& slot : report.slots) print_slot(slot);
}

}  // namespace vnicctl
