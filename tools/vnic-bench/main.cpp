// vnic-bench: measures the vnic transport. `raw` runs the block transport alone over one volume;
// `lab`, `ping`, `server` and `client` (whole links, between hosts) will join the list below.
#include <vector>

#include <CLI/CLI.hpp>

#include "tools/common/cli_main.h"
#include "tools/vnic-bench/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Measure the vnic transport.", "vnic-bench"};
  app.require_subcommand(1);
  app.footer(
      "Sizes take K, M, G or T suffixes, all powers of 1024 (64K = 65536).\n"
      "Exit status: 0 success, 1 runtime error or failed check, 2 usage error; errors are one line on stderr.");
  std::vector<vnic_tools::Subcommand> commands{
      vnic_bench::add_raw_command(app),
  };
  return vnic_tools::run_tool("vnic-bench", app, commands, argc, argv);
}
