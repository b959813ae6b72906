// What `vnicctl inspect` finds on a volume, gathered once and rendered as text or JSON.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "blockxport/format.h"

namespace vnicctl {

struct BlockReport {
  uint64_t sequence = 0;  // the sequence this ring position should hold
  blockxport::BlockCheck check = blockxport::BlockCheck::empty;
  blockxport::BlockHeader header;  // meaningful when check is ok
  std::string note;                // why an ok block is not the one expected here, if it is not
};

// A slot as a cluster admin asks about it: nobody's (never written, or an earlier format's), a
// clean stop, a running record whose heartbeat moved while we watched (alive) or did not (dead),
// or not watched (unknown: --watch-ms 0, or the record is bad).
enum class SlotLiveness : uint8_t { unknown, free, alive, dead, stopped };
std::string_view slot_liveness_name(SlotLiveness liveness);

struct SlotReport {
  uint32_t slot = 0;
  uint64_t record_offset = 0;
  blockxport::StateRecordDecode record;   // error all_zero: the slot was never used
  std::vector<std::string> record_notes;  // a valid record that does not belong here, and why
  std::vector<BlockReport> blocks;        // the last blocks before the head, oldest first
  // Who writes it, judged by watching its record (see SlotLiveness): free, alive, dead, stopped.
  SlotLiveness liveness = SlotLiveness::unknown;
};

struct VolumeReport {
  std::string path;
  std::string backing;
  uint64_t volume_bytes = 0;
  uint32_t logical_block_size = 0;
  bool block_device = false;
  blockxport::Superblock superblock;
  std::vector<SlotReport> slots;
};

// Opens the volume read-only (O_DIRECT reads only, safe beside a running link) and reads the
// superblock, every state record and, for each slot with a head, up to `blocks_per_slot` blocks
// before it. Throws blockxport::VolumeError("PATH: what is wrong") when there is no usable
// superblock.
// With `watch` above zero, every running record is read again after that long, and a slot whose
// heartbeat, head, epoch or status moved is alive, one that did not is dead.
VolumeReport inspect_volume(const std::string& path, uint64_t blocks_per_slot,
                            std::chrono::milliseconds watch = std::chrono::milliseconds(0));

std::string_view writer_status_name(blockxport::WriterStatus status);
// "0x0123456789abcdef": epochs are random 64-bit tags, compared by eye, not by magnitude.
std::string epoch_hex(uint64_t epoch);
// How a block is protected: "none", "authenticated" or "encrypted" (inspect holds no key, so it
// shows what the block claims; only a reader with the key can check it).
std::string_view block_protection(const blockxport::BlockHeader& header);
std::string key_id_hex(uint32_t key_id);

void print_volume_report(const VolumeReport& report);
void print_volume_report_json(const VolumeReport& report);

}  // namespace vnicctl
