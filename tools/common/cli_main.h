// What every vnic tool does around its subcommands: parse, run the chosen one, and turn every
// failure into exactly one line on stderr ("TOOL: what is wrong") and an exit status, so scripts
// can rely on both.
#pragma once

#include <functional>
#include <span>
#include <stdexcept>
#include <string_view>

#include <CLI/CLI.hpp>

namespace vnic_tools {

inline constexpr int kExitRuntimeError = 1;
inline constexpr int kExitUsageError = 2;

// A command line that parsed but asks for something impossible (a block size that is not a
// power of two): exit status 2, like CLI11's own parse errors.
struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

struct Subcommand {
  CLI::App* app = nullptr;
  std::function<int()> run;  // called after a successful parse when `app` was chosen
};

// Help goes to stdout with status 0; parse and usage errors exit 2; any other exception exits 1.
int run_tool(std::string_view tool, CLI::App& app, std::span<const Subcommand> subcommands, int argc, char** argv);

// "TOOL: message" on stderr, newlines folded so the message stays on one line.
void print_error(std::string_view tool, std::string_view message);

}  // namespace vnic_tools
