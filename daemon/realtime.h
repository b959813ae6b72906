// Keeping the heartbeat going on a starved node, as corosync and sbd do: a real-time scheduling
// policy, so CPU hogs at normal priority never delay vnicd, and memory locked, so paging never
// stalls it. Both are asked for, never required: the kernel's refusal (no CAP_SYS_NICE, a
// RLIMIT_MEMLOCK too small, a seccomp filter) is one warning line and a fallback.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace vnicd {

struct Config;

// What is in force after apply_realtime(), for the status.
struct RealtimeState {
  std::string memory_locked = "no";  // "current+future", "current" or "no"
};

// Sets the scheduling policy (SCHED_RR at config.priority, or SCHED_OTHER when realtime is off)
// and locks memory (mlockall once the buffers exist). Call before the privileges are dropped.
// Logs one line for each; never throws.
RealtimeState apply_realtime(const Config& config);

// The policy this thread runs under now, what was asked for, and the memory lock.
nlohmann::json realtime_status(const Config& config, const RealtimeState& state);

}  // namespace vnicd
