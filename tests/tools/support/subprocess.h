// Runs a tool the way a user or script would, capturing everything it says.
#pragma once

#include <string>
#include <vector>

namespace tools_test {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal number when killed by a signal
  std::string out;
  std::string err;

  // What the tests print when a check fails, so the tool's own words are in the log.
  std::string describe() const;
};

// Runs `program` with `args` (no shell), stdin from /dev/null; throws std::runtime_error when it
// cannot be started.
ProcessResult run_process(const std::string& program, const std::vector<std::string>& args);

// Exactly one newline-terminated line.
bool is_one_line(const std::string& text);

}  // namespace tools_test
