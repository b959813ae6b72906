// Judges the peer alive or dead from its state record alone: alive while its heartbeat counter or
// head moves, dead when a read issued `dead_after` or more after the last change still shows none,
// stopped when it wrote a clean stop. Only our own monotonic clock is used; the two nodes' clocks
// are never compared.
//
// Death needs evidence, as sanlock's delta leases judge a host by a read made after the host's
// deadline: a read that was issued before the deadline and completes after it (the volume
// stalled behind a burst of writeback, a path failover) proves nothing about the deadline, so it
// cannot make the peer dead. Only a volume that answers no read at all for twice dead_after (a
// hung LUN: no news is then bad news) makes the peer dead by time alone.
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

  // A completed read of the peer's state record (nullopt: never written), issued at `issued`.
  // Returns true when the state changed.
  bool observe(const std::optional<StateRecord>& record, TimePoint issued, TimePoint now);
  // A completed read that brought no usable record (failed, damaged, unauthentic): no sign of
  // life, so evidence of death once it was issued past the deadline.
  bool no_news(TimePoint issued, TimePoint now);
  void set_no_volume(TimePoint now);
  void set_dead_after(Nanos dead_after) { dead_after_ = dead_after; }
  // Time passing alone makes the peer dead only after twice dead_after with no read answered.
  bool tick(TimePoint now);
  // When a read must be issued for a verdict on time (the deadline of a peer not yet judged dead).
  std::optional<TimePoint> verdict_due() const;

  PeerState state() const { return state_; }
  bool alive() const { return state_ == PeerState::alive; }
  TimePoint since() const { return since_; }
  const std::optional<StateRecord>& last_record() const { return last_; }
  uint64_t transitions() const { return transitions_; }

 private:
  bool change_to(PeerState next, TimePoint now);
  bool watched() const { return (state_ == PeerState::alive || state_ == PeerState::unknown) && last_.has_value(); }

  Nanos dead_after_;
  PeerState state_ = PeerState::no_volume;
  TimePoint since_{};
  TimePoint last_change_{};
  std::optional<StateRecord> last_;
  uint64_t transitions_ = 0;
};

}  // namespace blockxport
