// The JSON rendering of `vnicctl inspect --json`: the same facts as the text, nothing else on
// stdout, so scripts can pipe it straight into a parser.
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "tools/common/iso_time.h"
#include "tools/vnicctl/volume_report.h"

namespace vnicctl {
namespace {

using nlohmann::json;

json block_json(const BlockReport& b) {
  json out{{"sequence", b.sequence}, {"check", blockxport::block_check_name(b.check)}};
  if (b.check == blockxport::BlockCheck::ok) {
    out["header_sequence"] = b.header.sequence;
    out["epoch"] = epoch_hex(b.header.epoch);
    out["slot"] = b.header.slot;
    out["valid_bytes"] = b.header.valid_bytes;
    out["record_count"] = b.header.record_count;
    out["writer_timestamp_ns"] = b.header.writer_timestamp_ns;
    out["protection"] = block_protection(b.header);
    if (b.header.authenticated()) out["key_id"] = key_id_hex(b.header.key_id);
    if (!b.note.empty()) out["note"] = b.note;
  }
  return out;
}

json slot_json(const SlotReport& slot) {
  json out{{"slot", slot.slot}, {"record_offset", slot.record_offset}};
  const auto& decoded = slot.record;
  out["slot_is"] = slot_liveness_name(slot.liveness);
  if (decoded.error == blockxport::DecodeError::all_zero) {
    out["state"] = "empty";
    return out;
  }
  if (decoded.error != blockxport::DecodeError::none) {
    out["state"] = "bad";
    out["error"] = decoded.message;
    return out;
  }
  const blockxport::StateRecord& r = decoded.record;
  out["state"] = "valid";
  if (!slot.record_notes.empty()) out["notes"] = slot.record_notes;
  out["status"] = writer_status_name(r.status);
  out["record_version"] = r.version;
  if (r.version == blockxport::kStateRecordVersion2) {
    out["owner"] = r.owner;
    out["ifname"] = r.ifname;
    out["started_unix_ns"] = r.started_unix_ns;
  }
  out["epoch"] = epoch_hex(r.epoch);
  out["heartbeat"] = r.heartbeat;
  out["head_sequence"] = r.head_sequence;
  out["epoch_first_sequence"] = r.epoch_first_sequence;
  out["writer_monotonic_ns"] = r.writer_monotonic_ns;
  out["authenticated"] = r.auth.has_value();
  if (r.auth) {
    out["key_id"] = key_id_hex(r.auth->key_id);
    out["echo_peer_epoch"] = epoch_hex(r.auth->peer_epoch);
    out["echo_peer_heartbeat"] = r.auth->peer_heartbeat;
  }
  json acks = json::object();
  for (size_t j = 0; j < r.acks.size(); ++j) {
    if (r.acks[j] != 0) acks[std::to_string(j)] = r.acks[j];
  }
  out["acks"] = acks;
  json blocks = json::array();
  for (const BlockReport& b : slot.blocks) blocks.push_back(block_json(b));
  out["blocks"] = blocks;
  return out;
}

}  // namespace

void print_volume_report_json(const VolumeReport& report) {
  const blockxport::Superblock& sb = report.superblock;
  json slots = json::array();
  for (const SlotReport& slot : report.slots) slots.push_back(slot_json(slot));
  json out{
      {"path", report.path},
      {"backing", report.backing},
      {"block_device", report.block_device},
      {"volume_bytes", report.volume_bytes},
      {"logical_block_size", report.logical_block_size},
      {"superblock",
       {{"uuid", blockxport::format_uuid(sb.uuid)},
        {"format_version", sb.format_version},
        {"label", sb.label},
        {"block_size", sb.block_size},
        {"slot_count", sb.slot_count},
        {"ring_blocks", sb.ring_blocks},
        {"ring_bytes_per_slot", sb.ring_blocks * sb.block_size},
        {"rings_offset", sb.rings_offset()},
        {"required_volume_bytes", sb.required_volume_bytes()},
        {"created_unix_ns", sb.created_unix_ns},
        {"created", vnic_tools::iso8601_utc(sb.created_unix_ns)}}},
      {"slots", slots},
  };
  std::cout << out.dump(2) << '\n';
}

}  // namespace vnicctl
