#include "blockxport/slot_claim.h"

#include <ctime>
#include <thread>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "blockxport/aligned_buffer.h"
#include "blockxport/peer_monitor.h"
#include "blockxport/sequence_recovery.h"

namespace blockxport {
namespace {

bool in_use(const StateRecordDecode& d, const Superblock& sb) {
  return d.error == DecodeError::none && d.record.uuid == sb.uuid && d.record.status != WriterStatus::empty;
}

[[noreturn]] void refuse(const Volume& volume, uint32_t slot, const StateRecord& owner) {
  throw SlotOwnedError(fmt::format("{}: slot {} is owned by live {}", volume.path(), slot, describe_owner(owner)));
}

}  // namespace

std::string_view slot_previous_name(SlotPrevious previous) {
  switch (previous) {
    case SlotPrevious::free:
      return "free";
    case SlotPrevious::own_restart:
      return "ours (a restart)";
    case SlotPrevious::stopped:
      return "stopped cleanly";
    case SlotPrevious::dead:
      return "dead";
  }
  return "?";
}

std::string describe_owner(const StateRecord& r) {
  std::string who = r.version == kStateRecordVersion1 || r.owner.empty()
                        ? std::string("node (unnamed: a version 1 record)")
                        : fmt::format("node \"{}\" ({})", r.owner, r.ifname.empty() ? "?" : r.ifname);
  if (r.started_unix_ns == 0) return who;
  std::time_t started = static_cast<std::time_t>(r.started_unix_ns / 1'000'000'000);
  return fmt::format("{}, running since {:%Y-%m-%dT%H:%M:%SZ}", who, fmt::gmtime(started));
}

SlotJudgement judge_slot(const Volume& volume, const Superblock& sb, uint32_t slot, const SlotOwner& me,
                         const SlotClaimOptions& options) {
  SlotJudgement out;
  out.read_at = Clock::now();
  out.record = read_state_record(volume, sb, slot);
  if (!in_use(out.record, sb)) return out;  // never written, another format's, or unreadable (recovery says)
  const StateRecord& first = out.record.record;
  if (first.status == WriterStatus::clean_stop) {
    out.previous = SlotPrevious::stopped;
    return out;
  }
  if (first.version == kStateRecordVersion2 && first.owner == me.node_name && first.ifname == me.ifname) {
    out.previous = SlotPrevious::own_restart;  // our predecessor, killed: the interface name is ours alone
    return out;
  }
  // Somebody else's running record: theirs while its heartbeat moves.
  TimePoint until = out.read_at + options.dead_after + options.heartbeat_interval;
  while (Clock::now() < until) {
    std::this_thread::sleep_for(std::min<Nanos>(options.heartbeat_interval, until - Clock::now()));
    TimePoint read_at = Clock::now();
    StateRecordDecode again = read_state_record(volume, sb, slot);
    if (again.error != DecodeError::none) continue;  // torn by the owner's write: that is a write, look again
    if (record_moved(first, again.record)) {
      if (again.record.status == WriterStatus::clean_stop) {
        out = {SlotPrevious::stopped, std::move(again), read_at};
        return out;
      }
      refuse(volume, slot, again.record);
    }
    out.record = std::move(again);
    out.read_at = read_at;
  }
  out.previous = SlotPrevious::dead;
  return out;
}

ClaimResult confirm_claim(const Volume& volume, const Superblock& sb, uint32_t slot, uint64_t our_epoch,
                          std::span<const std::byte> claim, const SlotJudgement& judged,
                          const SlotClaimOptions& options) {
  // Nothing written yet: a judgement this old may be overtaken by a claim we could not see.
  if (Clock::now() - judged.read_at > options.settle / 2) return ClaimResult::too_slow;
  volume.write_exact(claim.data(), claim.size(), sb.state_record_offset(slot));
  std::this_thread::sleep_for(options.settle);
  StateRecordDecode back = read_state_record(volume, sb, slot);
  if (back.error == DecodeError::none && back.record.uuid == sb.uuid && back.record.epoch != our_epoch)
    refuse(volume, slot, back.record);
  return ClaimResult::claimed;
}

}  // namespace blockxport
