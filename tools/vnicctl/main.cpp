// vnicctl: prepares and examines vnic volumes, and asks a running daemon for its status.
#include <vector>

#include <CLI/CLI.hpp>

#include "tools/common/cli_main.h"
#include "tools/vnicctl/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Prepare and examine vnic volumes (the storage a vnic link's frames travel through).", "vnicctl"};
  app.require_subcommand(1);
  app.footer("Sizes take K, M, G or T suffixes, all powers of 1024 (64K = 64KiB = 65536).\n"
             "Exit status: 0 success, 1 runtime error, 2 usage error; errors are one line on stderr.");
  std::vector<vnic_tools::Subcommand> commands{
      vnicctl::add_format_command(app),
      vnicctl::add_inspect_command(app),
      vnicctl::add_status_command(app),
      vnicctl::add_keygen_command(app),
  };
  return vnic_tools::run_tool("vnicctl", app, commands, argc, argv);
}
