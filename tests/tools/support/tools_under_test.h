// The two binaries under test (CMake gives their paths), run as a user or a script would.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tests/tools/support/subprocess.h"

namespace tools_test {

inline constexpr size_t kMiB = size_t{1} << 20;

inline ProcessResult vnicctl(const std::vector<std::string>& args) { return run_process(VNICCTL_PATH, args); }
inline ProcessResult vnic_bench(const std::vector<std::string>& args) { return run_process(VNIC_BENCH_PATH, args); }

}  // namespace tools_test
