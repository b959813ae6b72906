// vnic-bench raw: the block transport alone, writer and reader in one process over one volume,
// against the volume's own sequential-write ceiling measured right after.
#include <unistd.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "blockxport/block_codec.h"
#include "blockxport/format.h"
#include "blockxport/io_engine.h"
#include "blockxport/reader.h"
#include "tools/common/number_parse.h"
#include "tools/common/size_parse.h"
#include "tools/vnic-bench/bench_volume.h"
#include "tools/vnic-bench/commands.h"
#include "tools/vnic-bench/frame_pattern.h"
#include "tools/vnic-bench/loopback_run.h"
#include "tools/vnic-bench/raw_report.h"
#include "tools/vnic-bench/storage_ceiling.h"

namespace vnic_bench {
namespace {

using blockxport::Nanos;

constexpr double kMaxSeconds = 24 * 3600;
constexpr Nanos kDefaultDuration{5'000'000'000};
constexpr Nanos kCeilingWithFrameCount{2'000'000'000};  // --frames gives no duration to match

struct RawArgs {
  std::string volume;
  std::string block_size;
  std::string frame_size = "1500";
  std::string duration;
  std::string frames;
  std::string engine = "auto";
  std::string queue_depth = "8";
  std::string batch = "32";
  std::string read_depth;  // empty: blockxport's default
  std::string when_ring_full = "drop";
  std::string ceiling_duration;
  bool json = false;
  bool format = false;
};

struct RawPlan {
  std::optional<uint32_t> block_size;
  LoopbackConfig loopback;
  Nanos ceiling_duration{};
};

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }
double seconds(Nanos n) { return std::chrono::duration<double>(n).count(); }

RawPlan plan_from(const RawArgs& args) {
  using vnic_tools::parse_count;
  using vnic_tools::UsageError;
  RawPlan plan;
  if (!args.block_size.empty()) {
    uint64_t size = vnic_tools::parse_size_option("--block-size", args.block_size, 0, UINT64_MAX);
    if (!is_power_of_two(size) || size < blockxport::kMinBlockSize || size > blockxport::kMaxBlockSize) {
      throw UsageError(fmt::format("--block-size {}: not a power of two between {} and {}", args.block_size,
                                   vnic_tools::format_size(blockxport::kMinBlockSize),
                                   vnic_tools::format_size(blockxport::kMaxBlockSize)));
    }
    plan.block_size = static_cast<uint32_t>(size);
  }
  LoopbackConfig& l = plan.loopback;
  l.path = args.volume;
  l.frame_size = static_cast<uint32_t>(
      vnic_tools::parse_size_option("--frame-size", args.frame_size, kFrameStampBytes, blockxport::kMaxFrameBytes));
  try {
    l.engine = blockxport::parse_engine_kind(args.engine);
  } catch (const std::invalid_argument& error) {
    throw UsageError(fmt::format("--io-engine: {}", error.what()));
  }
  l.queue_depth = static_cast<unsigned>(parse_count("--queue-depth", args.queue_depth, 1, 256));
  l.batch_frames = static_cast<size_t>(parse_count("--batch", args.batch, 1, 4096));
  if (!args.read_depth.empty())
    l.read_depth = static_cast<unsigned>(parse_count("--read-depth", args.read_depth, 1, 256));
  if (args.when_ring_full == "drop")
    l.when_ring_full = RingFullPolicy::drop;
  else if (args.when_ring_full == "wait")
    l.when_ring_full = RingFullPolicy::wait;
  else
    throw UsageError(fmt::format("--when-ring-full {}: expected drop or wait", args.when_ring_full));
  if (!args.frames.empty()) l.frames = parse_count("--frames", args.frames, 1, uint64_t{1} << 40);
  l.duration =
      args.duration.empty() ? kDefaultDuration : vnic_tools::parse_seconds("--duration", args.duration, kMaxSeconds);
  if (!args.ceiling_duration.empty())
    plan.ceiling_duration = vnic_tools::parse_seconds("--ceiling-duration", args.ceiling_duration, kMaxSeconds);
  else
    plan.ceiling_duration = l.frames ? kCeilingWithFrameCount : l.duration;
  return plan;
}

// Progress for someone watching; a pipe or a test capturing stderr gets only real errors.
void progress(std::string_view message) {
  if (::isatty(STDERR_FILENO)) fmt::print(stderr, "vnic-bench: {}\n", message);
}

int run_raw(const RawArgs& args) {
  RawPlan plan = plan_from(args);
  LoopbackConfig& loopback = plan.loopback;

  BenchVolume volume = prepare_bench_volume(args.volume, plan.block_size, args.format);
  if (volume.formatted_now) progress(fmt::format("formatted {}", args.volume));
  // The writer keeps 2 x depth + 1 block buffers that must fit in the ring without lapping.
  if (volume.superblock.ring_blocks <= 2 * uint64_t{loopback.queue_depth} + 1) {
    throw std::runtime_error(
        fmt::format("{}: a ring of {} blocks is too short for --queue-depth {} (it needs more "
                    "than {} blocks)",
                    args.volume, volume.superblock.ring_blocks, loopback.queue_depth, 2 * loopback.queue_depth + 1));
  }

  progress(loopback.frames
               ? fmt::format("sending {} frames through {}", *loopback.frames, args.volume)
               : fmt::format("sending frames through {} for {:.1f} s", args.volume, seconds(loopback.duration)));
  RawReport report;
  report.vnic = run_loopback(loopback);

  progress(fmt::format("measuring the storage write ceiling for {:.1f} s", seconds(plan.ceiling_duration)));
  CeilingConfig ceiling;
  ceiling.path = args.volume;
  ceiling.superblock = report.vnic.superblock;
  ceiling.engine = blockxport::parse_engine_kind(report.vnic.engine);  // the engine the link ended up with
  ceiling.queue_depth = loopback.queue_depth;
  ceiling.duration = plan.ceiling_duration;
  report.ceiling = measure_write_ceiling(ceiling);

  RawSettings& s = report.settings;
  s.path = args.volume;
  s.engine_requested = args.engine;
  s.frame_size = loopback.frame_size;
  s.queue_depth = loopback.queue_depth;
  s.batch_frames = loopback.batch_frames;
  s.read_depth = loopback.read_depth;
  s.when_ring_full = args.when_ring_full;
  s.frames = loopback.frames;
  s.duration_seconds = seconds(loopback.duration);
  s.ceiling_seconds = seconds(plan.ceiling_duration);
  s.formatted_now = volume.formatted_now;

  if (args.json)
    print_raw_report_json(report);
  else
    print_raw_report(report);
  auto failures = report.failures();
  if (failures.empty()) return 0;
  vnic_tools::print_error("vnic-bench", fmt::format("{}: check failed: {}", args.volume, fmt::join(failures, "; ")));
  return vnic_tools::kExitRuntimeError;
}

}  // namespace

vnic_tools::Subcommand add_raw_command(CLI::App& app) {
  auto args = std::make_shared<RawArgs>();
  CLI::App* cmd = app.add_subcommand(
      "raw",
      "Send frames through one volume and read them back (one Link, loopback on slot 0), then measure the "
      "volume's sequential-write ceiling.");
  cmd->add_option("--volume", args->volume, "Volume file or block device (must exist; see vnicctl format --size)")
      ->required()
      ->type_name("PATH");
  cmd->add_option("--block-size", args->block_size,
                  "Block size; the volume is re-formatted only with --format (default: the volume's, 64K if blank)")
      ->type_name("SIZE");
  cmd->add_option("--frame-size", args->frame_size, "Bytes per frame, 16 to 128K (default 1500)")->type_name("BYTES");
  auto* duration = cmd->add_option("--duration", args->duration, "Seconds of sending (default 5)")->type_name("S");
  auto* frames = cmd->add_option("--frames", args->frames, "Send exactly N frames instead")->type_name("N");
  duration->excludes(frames);
  cmd->add_option("--io-engine", args->engine, "auto, io_uring, libaio or sync (default auto)")->type_name("ENGINE");
  cmd->add_option("--queue-depth", args->queue_depth, "Block writes in flight, 1-256 (default 8)")->type_name("N");
  cmd->add_option("--batch", args->batch, "Frames offered per Link::send call (default 32)")->type_name("N");
  cmd->add_option("--read-depth", args->read_depth,
                  fmt::format("Block reads in flight while data streams, 1-256 (default {}, as a vnic link uses)",
                              blockxport::ReaderOptions{}.depth))
      ->type_name("N");
  cmd->add_option("--when-ring-full", args->when_ring_full,
                  "drop: keep offering frames and let the writer tail-drop them (default); wait: hold them while the "
                  "writer's last-seen acknowledgement says its ring is full")
      ->type_name("drop|wait");
  cmd->add_option("--ceiling-duration", args->ceiling_duration,
                  "Seconds of the storage-ceiling run (default: --duration, or 2 with --frames)")
      ->type_name("S");
  cmd->add_flag("--json", args->json, "Print only JSON on stdout");
  cmd->add_flag("--format", args->format, "Format the volume first, whatever it holds (its contents are lost)");
  cmd->footer(
      "Without --format, a blank (all-zero) volume is formatted and a vnic volume with the wanted block size is used "
      "as it is; anything else is refused.\n"
      "Fails (exit 1) if any frame arrives corrupt, twice or out of order, or if delivered + dropped != sent.\n"
      "Block fill = payload bytes written / (blocks written x (block size - 64)); "
      "ratio_to_ceiling = delivered payload bytes/s / ceiling bytes/s.");
  return {cmd, [args] { return run_raw(*args); }};
}

}  // namespace vnic_bench
