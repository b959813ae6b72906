// vnicctl inspect: shows what is on a volume without writing a byte of it.
#include <memory>
#include <string>

#include "tools/common/number_parse.h"
#include "tools/vnicctl/commands.h"
#include "tools/vnicctl/volume_report.h"

namespace vnicctl {
namespace {

struct InspectArgs {
  std::string volume;
  std::string blocks = "8";
  std::string watch_ms = "1100";
  bool json = false;
};

int run_inspect(const InspectArgs& args) {
  uint64_t blocks = vnic_tools::parse_count("--blocks", args.blocks, 0, uint64_t{1} << 20);
  uint64_t watch_ms = vnic_tools::parse_count("--watch-ms", args.watch_ms, 0, 600'000);
  VolumeReport report = inspect_volume(args.volume, blocks, std::chrono::milliseconds(watch_ms));
  if (args.json)
    print_volume_report_json(report);
  else
    print_volume_report(report);
  return 0;
}

}  // namespace

vnic_tools::Subcommand add_inspect_command(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* cmd =
      app.add_subcommand("inspect", "Show VOLUME's superblock, every slot's state record and its last blocks.");
  cmd->add_option("VOLUME", args->volume, "Regular file or block device holding a vnic format")->required();
  cmd->add_flag("--json", args->json, "Print JSON only (on stdout)");
  cmd->add_option("--blocks", args->blocks, "Blocks to show before each slot's head (default 8; 0: none)")
      ->type_name("N");
  cmd->add_option("--watch-ms", args->watch_ms,
                  "Watch running slots this long to tell alive from dead (default 1100: vnicd's default "
                  "dead_after plus a heartbeat; 0: don't wait)")
      ->type_name("MS");
  cmd->footer("Read-only (O_DIRECT reads, never a write): safe on a volume a link is using.");
  return {cmd, [args] { return run_inspect(*args); }};
}

}  // namespace vnicctl
