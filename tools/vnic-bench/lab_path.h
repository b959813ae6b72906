// One path of the lab measured end to end: a `vnic-bench server` in namespace B, then
// `vnic-bench client --json` in namespace A against it, each this same binary run through
// `ip netns exec`. The client's progress lines are passed on, tagged with the path.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/vnic-bench/lab_env.h"
#include "tools/vnic-bench/lab_options.h"

namespace vnic_bench {

struct PathSpec {
  std::string key;    // "vnic", "vnic_offload_off", "veth", "socat"
  std::string label;  // for people: "vnic, offloads on"
  std::string client_ns;
  std::string server_ns;
  std::string server_address;
  std::vector<pid_t> transport_pids;  // empty: the kernel is the transport
};

using LabProgress = std::function<void(std::string_view)>;

// The client's report (run_client_tests). Throws std::runtime_error naming the path and what the
// server or client said when either fails.
nlohmann::ordered_json measure_path(const LabTools& tools, const LabPlan& plan, const PathSpec& path,
                                    const LabProgress& progress);

}  // namespace vnic_bench
