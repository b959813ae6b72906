// The vnic-bench subcommands; main.cpp lists them, each lives in its own file.
#pragma once

#include <CLI/CLI.hpp>

#include "tools/common/cli_main.h"

namespace vnic_bench {

vnic_tools::Subcommand add_raw_command(CLI::App& app);

}  // namespace vnic_bench
