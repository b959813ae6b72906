// The measurements only the vnic lab has: what an idle vnicd costs, and how long a node takes
// to see its peer die.
#pragma once

#include <chrono>

#include <nlohmann/json.hpp>

#include "tools/vnic-bench/lab_env.h"

namespace vnic_bench {

// Both daemons, no traffic, over `duration`: {a: idle_figures, b: idle_figures}.
nlohmann::ordered_json measure_idle(const VnicLab& lab, std::chrono::nanoseconds duration);

// kill -9 of node B's vnicd, then the time until node A's vnic0 loses carrier, polled every
// millisecond inside A's namespace. Leaves B dead (the lab is torn down next).
nlohmann::ordered_json measure_dead_detection(const LabTools& tools, const VnicLab& lab);

}  // namespace vnic_bench
