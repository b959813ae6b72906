// The two binaries under test (CMake gives their paths), run as a user or a script would.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "tools/common/child_process.h"

namespace tools_test {

inline constexpr size_t kMiB = size_t{1} << 20;

// Runs `program` with `args` (no shell), stdin from /dev/null, everything it says captured; throws
// std::runtime_error when it cannot be started.
inline vnic_tools::CapturedRun run_tool(const std::string& program, const std::vector<std::string>& args) {
  std::vector<std::string> argv{program};
  argv.insert(argv.end(), args.begin(), args.end());
  return vnic_tools::run_captured(argv);
}

inline vnic_tools::CapturedRun vnicctl(const std::vector<std::string>& args) { return run_tool(VNICCTL_PATH, args); }
inline vnic_tools::CapturedRun vnic_bench(const std::vector<std::string>& args) {
  return run_tool(VNIC_BENCH_PATH, args);
}

// Exactly one newline-terminated line.
inline bool is_one_line(const std::string& text) {
  return !text.empty() && text.back() == '\n' && std::count(text.begin(), text.end(), '\n') == 1;
}

}  // namespace tools_test
