// Judges the peer alive or dead from its state record alone: alive while its heartbeat counter or
// head moves, dead after `dead_after` without a change, stopped when it wrote a clean stop. Only
// our own monotonic clock is used; the two nodes' clocks are never compared.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "blockxport/clock.h"
#include "blockxport/format.h"

namespace blockxport {

enum class PeerState : uint8_t {
  no_volume,  // the receive volume is not formatted yet (mirror not established, peer not set up)
  unknown,    // formatted, but the peer's record has not moved since we started looking
  alive,
  dead,     // its record stopped moving
  stopped,  // it wrote a clean stop
};
std::string_view peer_state_name(PeerState state);

// The liveness rule, one place for everyone who judges it (the monitor, the slot claim, vnicctl
// inspect): a writer is alive while its record moves (epoch, heartbeat, head or status).
bool record_moved(const StateRecord& before, const StateRecord& after);

class PeerMonitor {
 public:
  explicit PeerMonitor(Nanos dead_after) : dead_after_(dead_after) {}

  // Every read of the peer's state record, decoded or not (nullopt: never written or unreadable).
  // Returns true when the state changed.
  bool observe(const std::optional<StateRecord>& record, TimePoint now);
  void set_no_volume(TimePoint now);
  void set_dead_after(Nanos dead_after) { dead_after_ = dead_after; }
  // Time passing alone can make the peer dead.
  bool tick(TimePoint now);

  PeerState state() const { return state_; }
  bool alive() const { return state_ == PeerState::alive; }
  TimePoint since() const { return since_; }
  const std::optional<StateRecord>& last_record() const { return last_; }
  uint64_t transitions() const { return transitions_; }

 private:
  bool change_to(PeerState next, TimePoint now);

  Nanos dead_after_;
  PeerState state_ = PeerState::no_volume;
  TimePoint since_{};
  TimePoint last_change_{};
  std::optional<StateRecord> last_;
  uint64_t transitions_ = 0;
};

}  // namespace blockxport
