// The measurements only the vnic lab has: what an idle vnicd costs, and how long a node takes
// to see its peer die.
#pragma once

#include <chrono>
#include <functional>

#include <nlohmann/json.hpp>

#include "tools/vnic-bench/lab_env.h"

namespace vnic_bench {

// Every daemon, no traffic, over `duration`: {a: idle_figures, b: idle_figures, ...}, and on a
// shared LUN their mean as "per_node".
nlohmann::ordered_json measure_idle(const VnicLab& lab, std::chrono::nanoseconds duration);

// What each of a shared LUN's nodes but a and b costs while `measure` runs traffic between a and b:
// {c: idle_figures, ...} (its CPU, and its reads of the blocks it passes over).
nlohmann::ordered_json measure_bystanders(const VnicLab& lab, const std::function<void()>& measure);

// kill -9 of node B's vnicd, then the time until node A sees it: A's vnic0 losing carrier, polled
// every millisecond inside A's namespace; or on a shared LUN of more than two nodes (where A
// keeps carrier through the others) A's peer state for B turning dead, from its status, to the
// millisecond by its since_ms. Leaves B dead (the lab is torn down next).
nlohmann::ordered_json measure_dead_detection(const LabTools& tools, const VnicLab& lab);

}  // namespace vnic_bench
