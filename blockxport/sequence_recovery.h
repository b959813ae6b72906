// Where a starting writer continues its slot's sequence (docs/FORMAT.md, "Restarts"): after a
// clean stop at the recorded head; after a crash past every block of its own it finds beyond the
// head, plus a gap larger than any queue depth, so no sequence that might have been in flight
// when the previous instance died is ever reused.
#pragma once

#include <cstdint>
#include <optional>

#include "blockxport/format.h"
#include "blockxport/volume.h"

namespace blockxport {

inline constexpr uint64_t kRestartSequenceGap = 64;

struct RecoveredSequence {
  uint64_t first_sequence = 1;
  uint64_t heartbeat = 0;            // the slot's last heartbeat: ours continue from it
  uint64_t restart_scan_blocks = 0;  // our own blocks found past the recorded head
};

// `record`: the slot's state record as read (nullopt: never written, or from another format).
// Throws VolumeError if the record is there but unreadable.
RecoveredSequence recover_sequence(const Volume& volume, const Superblock& sb, uint32_t slot,
                                   const StateRecordDecode& record);

// Reads the slot's state record (synchronously; at start only).
StateRecordDecode read_state_record(const Volume& volume, const Superblock& sb, uint32_t slot);

}  // namespace blockxport
