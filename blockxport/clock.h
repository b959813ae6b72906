// The one clock of the transport: monotonic, never the wall clock (a wall-clock jump must not
// change liveness, deadlines or polling).
#pragma once

#include <chrono>
#include <cstdint>

namespace blockxport {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Nanos = std::chrono::nanoseconds;

inline uint64_t to_ns(TimePoint t) {
  return static_cast<uint64_t>(std::chrono::duration_cast<Nanos>(t.time_since_epoch()).count());
}
inline uint64_t ns_between(TimePoint from, TimePoint to) {
  return to > from ? static_cast<uint64_t>(std::chrono::duration_cast<Nanos>(to - from).count()) : 0;
}

}  // namespace blockxport
