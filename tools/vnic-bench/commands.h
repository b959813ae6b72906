// The vnic-bench subcommands; main.cpp lists them, each lives in its own file.
#pragma once

#include <CLI/CLI.hpp>

#include "tools/common/cli_main.h"

namespace vnic_bench {

vnic_tools::Subcommand add_raw_command(CLI::App& app);
vnic_tools::Subcommand add_server_command(CLI::App& app);
vnic_tools::Subcommand add_client_command(CLI::App& app);
vnic_tools::Subcommand add_ping_command(CLI::App& app);
vnic_tools::Subcommand add_lab_command(CLI::App& app);
vnic_tools::Subcommand add_watch_carrier_command(CLI::App& app);  // internal, used by lab

}  // namespace vnic_bench
