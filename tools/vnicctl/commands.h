// The vnicctl subcommands; main.cpp lists them, each lives in its own file.
#pragma once

#include <CLI/CLI.hpp>

#include "tools/common/cli_main.h"

namespace vnicctl {

vnic_tools::Subcommand add_format_command(CLI::App& app);
vnic_tools::Subcommand add_inspect_command(CLI::App& app);
vnic_tools::Subcommand add_status_command(CLI::App& app);
vnic_tools::Subcommand add_keygen_command(CLI::App& app);

}  // namespace vnicctl
