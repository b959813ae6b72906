#include "tools/vnic-bench/lab_options.h"

#include <fmt/format.h>

#include "blockxport/format.h"
#include "tools/common/cli_main.h"
#include "tools/common/number_parse.h"
#include "tools/common/size_parse.h"

namespace vnic_bench {
namespace {

using vnic_tools::UsageError;

constexpr double kMaxTestSeconds = 3600;
constexpr size_t kMaxNameLength = 32;
constexpr uint64_t kMaxLabNodes = 8;  // vnic-lab's sides a to h
constexpr uint64_t kMaxRounds = 20;  // a round is four paths of six tests: 20 of them is hours at the default duration  // namespace names and /run, /var/tmp paths are built from it

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

void check_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= kMaxNameLength && name.front() != '-' && name.front() != '.';
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
  if (!ok)
    throw UsageError(fmt::format(
        "--name {}: use 1 to {} letters, digits, '-', '_' or '.', not starting with '-' or '.'", name, kMaxNameLength));
}

}  // namespace

LabPlan lab_plan_from(const LabArgs& args) {
  LabPlan plan;
  plan.duration = vnic_tools::parse_seconds("--duration", args.duration, kMaxTestSeconds);
  plan.idle_duration = vnic_tools::parse_seconds("--idle-duration", args.idle_duration, kMaxTestSeconds);
  uint64_t block = vnic_tools::parse_size_option("--block-size", args.block_size, 0, UINT64_MAX);
  if (!is_power_of_two(block) || block < blockxport::kMinBlockSize || block > blockxport::kMaxBlockSize) {
    throw UsageError(fmt::format("--block-size {}: not a power of two between {} and {}", args.block_size,
                                 vnic_tools::format_size(blockxport::kMinBlockSize),
                                 vnic_tools::format_size(blockxport::kMaxBlockSize)));
  }
  plan.block_size = args.block_size;
  plan.block_bytes = static_cast<uint32_t>(block);
  try {
    plan.engine_kind = blockxport::parse_engine_kind(args.engine);
  } catch (const std::invalid_argument& error) {
    throw UsageError(fmt::format("--io-engine: {}", error.what()));
  }
  plan.engine = args.engine;
  if (args.backing != "file" && args.backing != "loop")
    throw UsageError(fmt::format("--backing {}: expected file or loop", args.backing));
  plan.backing = args.backing;
  if (args.plot.empty()) throw UsageError("--plot: empty path");
  plan.plot_path = args.plot;
  check_name(args.name);
  plan.name = args.name;
  plan.port = static_cast<uint16_t>(vnic_tools::parse_count("--port", args.port, 1, 65533));
  plan.rounds = static_cast<unsigned>(vnic_tools::parse_count("--rounds", args.rounds, 1, kMaxRounds));
  if (!args.nodes.empty())
    plan.nodes = static_cast<unsigned>(vnic_tools::parse_count("--nodes", args.nodes, 2, kMaxLabNodes));
  plan.json = args.json;
  return plan;
}

}  // namespace vnic_bench
