#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace vnic::test {

struct CommandResult {
  int exit_code = -1;  // -1 if it did not exit normally (timeout, signal, exec failure)
  bool timed_out = false;
  std::string output;  // stdout and stderr interleaved

  bool ok() const { return exit_code == 0; }
};

// Runs argv[0] from PATH with stdout+stderr captured; kills it at the deadline
// so that no test can hang on a stuck tool.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Same, but throws std::runtime_error with the output if it fails.
std::string run_checked(const std::vector<std::string>& argv,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace vnic::test
