// What the lab report says about the machine it ran on, so that figures from different runs can
// be compared (or not): host, kernel, CPUs, load, and the versions of the tools it drove.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vnic_bench {

// {timestamp, host, kernel, cpu_count, cpu_model, load_average}
nlohmann::ordered_json host_info();

// The 1, 5 and 15-minute load averages ("0.95 1.38 1.77"): the machine may be shared.
std::string load_average();

// The first line a program prints for `argv` (its version), or null when it cannot be run.
nlohmann::ordered_json program_version(const std::vector<std::string>& argv);

}  // namespace vnic_bench
