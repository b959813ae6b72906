#include "tools/common/cli_main.h"

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include <fmt/format.h>

namespace vnic_tools {
namespace {

std::string one_line(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (char c : message) {
    if (c == '\n') {
      if (!out.empty() && out.back() != ' ') out += "; ";
    } else {
      out += c;
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out;
}

// "vnicctl format" when the error came while parsing that subcommand, else "vnicctl".
std::string help_target(std::string_view tool, std::span<const Subcommand> subcommands) {
  for (const Subcommand& sub : subcommands) {
    if (sub.app->parsed()) return fmt::format("{} {}", tool, sub.app->get_name());
  }
  return std::string(tool);
}

}  // namespace

void print_error(std::string_view tool, std::string_view message) {
  std::fflush(stdout);  // what the command printed before failing comes first
  fmt::print(stderr, "{}: {}\n", tool, one_line(message));
}

int run_tool(std::string_view tool, CLI::App& app, std::span<const Subcommand> subcommands, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);  // --help: the help text, on stdout
    print_error(tool, fmt::format("{} (see {} --help)", error.what(), help_target(tool, subcommands)));
    return kExitUsageError;
  }
  for (const Subcommand& sub : subcommands) {
    if (!sub.app->parsed()) continue;
    try {
      return sub.run();
    } catch (const UsageError& error) {
      print_error(tool, error.what());
      return kExitUsageError;
    } catch (const std::exception& error) {
      print_error(tool, error.what());
      return kExitRuntimeError;
    }
  }
  print_error(tool, fmt::format("no command given (see {} --help)", tool));
  return kExitUsageError;
}

}  // namespace vnic_tools
