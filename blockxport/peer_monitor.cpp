#include "blockxport/peer_monitor.h"

namespace blockxport {

std::string_view peer_state_name(PeerState state) {
  switch (state) {
    case PeerState::no_volume:
      return "no-volume";
    case PeerState::unknown:
      return "unknown";
    case PeerState::alive:
      return "alive";
    case PeerState::dead:
      return "dead";
    case PeerState::stopped:
      return "stopped";
  }
  return "?";
}

bool record_moved(const StateRecord& a, const StateRecord& b) {
  return a.epoch != b.epoch || a.heartbeat != b.heartbeat || a.head_sequence != b.head_sequence ||
         a.status != b.status;
}

bool PeerMonitor::change_to(PeerState next, TimePoint now) {
  if (next == state_) return false;
  state_ = next;
  since_ = now;
  ++transitions_;
  return true;
}

void PeerMonitor::set_no_volume(TimePoint now) {
  last_.reset();
  change_to(PeerState::no_volume, now);
}

bool PeerMonitor::observe(const std::optional<StateRecord>& record, TimePoint issued, TimePoint now) {
  if (!record || record->status == WriterStatus::empty) {
    bool first = !last_.has_value() && state_ == PeerState::no_volume;
    last_.reset();
    if (first) return change_to(PeerState::unknown, now);
    return no_news(issued, now);
  }
  const StateRecord& r = *record;
  if (r.status == WriterStatus::clean_stop) {
    last_ = r;
    return change_to(PeerState::stopped, now);
  }
  bool moved = last_ && record_moved(*last_, r);
  bool first_look = !last_.has_value();
  last_ = r;
  if (moved) {
    last_change_ = now;
    return change_to(PeerState::alive, now);
  }
  if (first_look) {
    // One sample cannot tell a live writer from a record left by a dead one.
    last_change_ = now;
    return change_to(state_ == PeerState::alive ? PeerState::alive : PeerState::unknown, now);
  }
  return no_news(issued, now);
}

bool PeerMonitor::no_news(TimePoint issued, TimePoint now) {
  // The change itself is dated by the completion of the read that saw it (it may have landed just
  // before), so a read issued dead_after after that cannot have raced it.
  if (watched() && issued - last_change_ >= dead_after_) return change_to(PeerState::dead, now);
  return tick(now);
}

bool PeerMonitor::tick(TimePoint now) {
  if (watched() && now - last_change_ >= 2 * dead_after_) return change_to(PeerState::dead, now);
  return false;
}

std::optional<TimePoint> PeerMonitor::verdict_due() const {
  if (!watched()) return std::nullopt;
  return last_change_ + dead_after_;
}

}  // namespace blockxport
