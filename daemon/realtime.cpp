#include "daemon/realtime.h"

#include <cap-ng.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "control/status_keys.h"
#include "daemon/config.h"

namespace vnicd {
namespace {

// ASan's and TSan's shadow memory is terabytes of reserved address space: mlockall would try to
// populate it. Sanitizer builds run unlocked.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizerBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitizerBuild = true;
#else
constexpr bool kSanitizerBuild = false;
#endif
#else
constexpr bool kSanitizerBuild = false;
#endif

struct Scheduling {
  int policy;
  int priority;
};

Scheduling current_scheduling() {
  sched_param param{};
  ::sched_getparam(0, &param);
  return {::sched_getscheduler(0) & ~SCHED_RESET_ON_FORK, param.sched_priority};
}

const char* policy_name(int policy) {
  switch (policy) {
    case SCHED_OTHER:
      return "SCHED_OTHER";
    case SCHED_FIFO:
      return "SCHED_FIFO";
    case SCHED_RR:
      return "SCHED_RR";
    case SCHED_BATCH:
      return "SCHED_BATCH";
    case SCHED_IDLE:
      return "SCHED_IDLE";
    default:
      return "unknown";
  }
}

std::string describe(Scheduling s) {
  return s.policy == SCHED_RR || s.policy == SCHED_FIFO ? fmt::format("{} priority {}", policy_name(s.policy), s.priority)
                                                        : policy_name(s.policy);
}

bool has_effective(unsigned cap) {
  return capng_get_caps_process() == 0 && capng_have_capability(CAPNG_EFFECTIVE, cap);
}

std::string limit_text(rlim_t value, const char* unit_name, rlim_t divisor) {
  return value == RLIM_INFINITY ? std::string("unlimited") : fmt::format("{}{}", value / divisor, unit_name);
}

// Why the kernel said EPERM to a policy: the capability and rlimit it checks, or,
// when both allow it, a filter above them (a unit's RestrictRealtime= or SystemCallFilter=).
std::string why_refused(int err, int wanted_policy) {
  if (err != EPERM) return std::strerror(err);
  // Leaving a real-time policy needs no right: only a filter refuses it.
  if (wanted_policy == SCHED_OTHER)
    return fmt::format("{} (a seccomp filter: under the packaged unit, set CPUSchedulingPolicy=other in a drop-in)",
                       std::strerror(err));
  if (has_effective(CAP_SYS_NICE))
    return fmt::format("{} (a seccomp filter: RestrictRealtime= or SystemCallFilter= in the unit)", std::strerror(err));
  rlimit rtprio{};
  ::getrlimit(RLIMIT_RTPRIO, &rtprio);
  return fmt::format("{} (no CAP_SYS_NICE, RLIMIT_RTPRIO {})", std::strerror(err), limit_text(rtprio.rlim_cur, "", 1));
}

void apply_scheduling(const Config& c) {
  const Scheduling want{c.realtime ? SCHED_RR : SCHED_OTHER, c.realtime ? static_cast<int>(c.priority) : 0};
  const Scheduling before = current_scheduling();
  if (before.policy == want.policy && before.priority == want.priority) {
    spdlog::info("realtime: {}{}", describe(before),
                 c.realtime ? fmt::format(" (already in force; below corosync's 99)") : " (realtime off)");
    return;
  }
  sched_param param{};
  param.sched_priority = want.priority;
  // Reset on fork: nothing vnicd might ever start inherits its real-time policy.
  if (::sched_setscheduler(0, want.policy | SCHED_RESET_ON_FORK, &param) == 0) {
    spdlog::info("realtime: {}{}", describe(want), c.realtime ? " (below corosync's 99)" : " (realtime off)");
    return;
  }
  const int err = errno;
  spdlog::warn("realtime: sched_setscheduler({}{}) refused: {}; running {}", policy_name(want.policy),
               c.realtime ? fmt::format(", {}", want.priority) : "", why_refused(err, want.policy),
               describe(current_scheduling()));
}

std::string apply_memory_lock(const Config& c) {
  if (!c.lock_memory) {
    spdlog::info("lock_memory: off; memory not locked");
    return "no";
  }
  if (kSanitizerBuild) {
    spdlog::info("lock_memory: not in a sanitizer build (its shadow memory cannot be locked); memory not locked");
    return "no";
  }
  rlimit limit{};
  ::getrlimit(RLIMIT_MEMLOCK, &limit);
  if (limit.rlim_cur != RLIM_INFINITY) {
    // Pages allocated after the privileges drop count against this limit (CAP_IPC_LOCK goes with
    // the drop): locking future pages is safe only without one. Raising it needs
    // CAP_SYS_RESOURCE or a hard limit that allows it; a unit sets LimitMEMLOCK=infinity.
    rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
    if (::setrlimit(RLIMIT_MEMLOCK, &unlimited) == 0) limit = unlimited;
  }
  if (limit.rlim_cur == RLIM_INFINITY) {
    if (::mlockall(MCL_CURRENT | MCL_FUTURE) == 0) {
      spdlog::info("lock_memory: current and future pages locked (mlockall)");
      return "current+future";
    }
    spdlog::warn("lock_memory: mlockall(MCL_CURRENT|MCL_FUTURE) refused: {}; memory not locked", std::strerror(errno));
    return "no";
  }
  // With a finite limit, MCL_FUTURE would make every allocation past it fail once CAP_IPC_LOCK is
  // dropped: lock what exists (the buffers are allocated up front) and no more.
  std::string limit_kib = limit_text(limit.rlim_cur, " KiB", 1024);
  if (::mlockall(MCL_CURRENT) == 0) {
    spdlog::warn(
        "lock_memory: RLIMIT_MEMLOCK is {} and cannot be raised (no CAP_SYS_RESOURCE): locked the pages in use only, "
        "not later ones; LimitMEMLOCK=infinity locks both",
        limit_kib);
    return "current";
  }
  const int err = errno;
  spdlog::warn("lock_memory: mlockall(MCL_CURRENT) refused: {} (RLIMIT_MEMLOCK {}{}); memory not locked",
               std::strerror(err), limit_kib, has_effective(CAP_IPC_LOCK) ? "" : ", no CAP_IPC_LOCK");
  return "no";
}

}  // namespace

RealtimeState apply_realtime(const Config& config) {
  apply_scheduling(config);
  return RealtimeState{apply_memory_lock(config)};
}

nlohmann::json realtime_status(const Config& config, const RealtimeState& state) {
  namespace keys = vnic_control::keys;
  const Scheduling now = current_scheduling();
  return {{keys::kRealtime, config.realtime},
          {keys::kPriority, config.priority},
          {keys::kLockMemory, config.lock_memory},
          {keys::kScheduling, policy_name(now.policy)},
          {keys::kSchedulingPriority, now.priority},
          {keys::kMemoryLocked, state.memory_locked}};
}

}  // namespace vnicd
