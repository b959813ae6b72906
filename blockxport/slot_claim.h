// Taking a writer slot of a shared LUN, in the manner of sanlock's delta leases: a node may write
// a slot only if nobody else does. The slot's state record says who last wrote it (owner, since
// when) and whether it stopped cleanly; a running record is somebody's only while its heartbeat
// moves, so a running record of another owner is watched for dead_after before it is taken. Two
// nodes that start on one slot at the same moment both write their claim; each then waits and
// reads the slot again, and only the one whose claim is still there goes on (the last writer). For
// that to hold, a claim is written no later than half the settle time after the read that judged
// the slot free, or it is judged again.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "blockxport/clock.h"
#include "blockxport/format.h"
#include "blockxport/volume.h"

namespace blockxport {

// Who a node is, as its state record names it: the node and its interface.
struct SlotOwner {
  std::string node_name;
  std::string ifname;
};

struct SlotClaimOptions {
  Nanos heartbeat_interval{100'000'000};
  Nanos dead_after{1'000'000'000};
  Nanos settle{50'000'000};  // from writing the claim to reading it back
};

// What the slot held before we took it.
enum class SlotPrevious : uint8_t { free, own_restart, stopped, dead };
std::string_view slot_previous_name(SlotPrevious previous);

struct SlotJudgement {
  SlotPrevious previous = SlotPrevious::free;
  StateRecordDecode record;  // the slot's record as last read
  TimePoint read_at{};       // when that read began
};

// A slot another node writes: the message names the volume, the slot, the owner and since when.
struct SlotOwnedError : VolumeError {
  using VolumeError::VolumeError;
};

// Reads the slot's record and decides whether it may be taken, watching a running record of
// another owner for dead_after (plus a heartbeat). Throws SlotOwnedError if its heartbeat moves.
SlotJudgement judge_slot(const Volume& volume, const Superblock& sb, uint32_t slot, const SlotOwner& me,
                         const SlotClaimOptions& options);

enum class ClaimResult : uint8_t { claimed, too_slow };

// Writes `claim` (our encoded running record, a whole stride) to the slot, waits `settle` and
// reads the slot back. Returns too_slow, writing nothing, if more than settle/2 passed since the
// judging read (judge again); throws SlotOwnedError if another node's claim replaced ours.
ClaimResult confirm_claim(const Volume& volume, const Superblock& sb, uint32_t slot, uint64_t our_epoch,
                          std::span<const std::byte> claim, const SlotJudgement& judged,
                          const SlotClaimOptions& options);

// "node \"b\" (vnic0), running since 2026-12-04T18:40:01Z", for messages and `vnicctl inspect`.
std::string describe_owner(const StateRecord& record);

}  // namespace blockxport
