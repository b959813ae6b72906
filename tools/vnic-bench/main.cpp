// vnic-bench: measures the vnic transport. `raw` runs the block transport alone over one volume;
// `server`, `client` and `ping` measure a whole link between two nodes; `lab` compares vnic with
// a veth pair and a socat tunnel on one machine, in two network namespaces.
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
      vnic_bench::add_raw_command(app),    vnic_bench::add_server_command(app),
      vnic_bench::add_client_command(app), vnic_bench::add_ping_command(app),
      vnic_bench::add_lab_command(app),    vnic_bench::add_watch_carrier_command(app),
  };
  return vnic_tools::run_tool("vnic-bench", app, commands, argc, argv);
}
