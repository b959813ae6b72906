// vnic-bench raw: the block transport alone, writer and reader in one process over one volume,
// against the volume's own ceilings (write only, read only, and both at once as a loopback must),
// measured in rounds interleaved with the vnic run so that every ratio compares figures taken
// within seconds of each other.
#include <unistd.h>

#include <algorithm>
#include <array>
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
// About a second per slice: long enough for the link to reach its stride, short enough that the
// machine does not change much between a slice and its ceilings.
constexpr Nanos kSlice{1'000'000'000};
constexpr unsigned kRoundsWithFrameCount = 3;
constexpr unsigned kMaxRounds = 1000;

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
  std::string max_read;    // empty: blockxport's default
  std::string rounds;      // empty: one per second of --duration, or 3 with --frames
  std::string when_ring_full = "drop";
  std::string fixed_buffers = "on";
  std::string ceiling_duration;
  bool json = false;
  bool format = false;
};

struct RawPlan {
  std::optional<uint32_t> block_size;
  LoopbackConfig loopback;
  std::optional<uint64_t> frames;
  Nanos duration{};
  Nanos ceiling_duration{};  // of each ceiling, over all rounds
  unsigned rounds = 1;

  // Round r's share of the frames or of the time (the first rounds take any remainder).
  std::optional<uint64_t> frames_in_round(unsigned r) const {
    if (!frames) return std::nullopt;
    return *frames / rounds + (r < *frames % rounds ? 1 : 0);
  }
  Nanos per_round(Nanos total) const { return total / rounds; }
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
  if (!args.max_read.empty())
    l.max_read_bytes = static_cast<uint32_t>(
        vnic_tools::parse_size_option("--max-read", args.max_read, blockxport::kMinBlockSize, 64 << 20));
  if (args.when_ring_full == "drop")
    l.when_ring_full = RingFullPolicy::drop;
  else if (args.when_ring_full == "wait")
    l.when_ring_full = RingFullPolicy::wait;
  else
    throw UsageError(fmt::format("--when-ring-full {}: expected drop or wait", args.when_ring_full));
  if (args.fixed_buffers != "on" && args.fixed_buffers != "off")
    throw UsageError(fmt::format("--fixed-buffers {}: expected on or off", args.fixed_buffers));
  l.fixed_buffers = args.fixed_buffers == "on";
  if (!args.frames.empty()) plan.frames = parse_count("--frames", args.frames, 1, uint64_t{1} << 40);
  plan.duration =
      args.duration.empty() ? kDefaultDuration : vnic_tools::parse_seconds("--duration", args.duration, kMaxSeconds);
  if (!args.ceiling_duration.empty())
    plan.ceiling_duration = vnic_tools::parse_seconds("--ceiling-duration", args.ceiling_duration, kMaxSeconds);
  else
    plan.ceiling_duration = plan.frames ? kCeilingWithFrameCount : plan.duration;
  if (!args.rounds.empty())
    plan.rounds = static_cast<unsigned>(parse_count("--rounds", args.rounds, 1, kMaxRounds));
  else if (plan.frames)
    plan.rounds = kRoundsWithFrameCount;
  else
    plan.rounds = static_cast<unsigned>(std::clamp<int64_t>((plan.duration + kSlice / 2) / kSlice, 1, kMaxRounds));
  if (plan.frames && *plan.frames < plan.rounds) plan.rounds = static_cast<unsigned>(*plan.frames);
  return plan;
}

// Progress for someone watching; a pipe or a test capturing stderr gets only real errors.
void progress(std::string_view message) {
  if (::isatty(STDERR_FILENO)) fmt::print(stderr, "vnic-bench: {}\n", message);
}

enum class Slice : uint8_t { vnic, write_ceiling, rw_ceiling, read_ceiling };

// Each round runs the four slices in a different order, so none of them always follows the
// same one (a ceiling right after the vnic slice may find the host's write-back still busy).
std::array<Slice, 4> slice_order(unsigned round) {
  std::array<Slice, 4> order{Slice::vnic, Slice::write_ceiling, Slice::rw_ceiling, Slice::read_ceiling};
  std::rotate(order.begin(), order.begin() + round % order.size(), order.end());
  return order;
}

RoundResult run_round(const RawPlan& plan, unsigned round, LoopbackSession& session, const CeilingConfig& ceiling) {
  RoundResult result;
  CeilingConfig slice = ceiling;
  slice.duration = plan.per_round(plan.ceiling_duration);
  for (Slice kind : slice_order(round)) {
    switch (kind) {
      case Slice::vnic:
        result.vnic = session.run_slice(plan.frames_in_round(round), plan.per_round(plan.duration));
        break;
      case Slice::write_ceiling:
        result.ceiling = measure_write_ceiling(slice);
        break;
      case Slice::rw_ceiling:
        result.rw_ceiling = measure_loopback_ceiling(slice);
        break;
      case Slice::read_ceiling:
        result.read_ceiling = measure_read_ceiling(slice);
        break;
    }
  }
  return result;
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

  progress(plan.frames
               ? fmt::format("sending {} frames through {} in {} rounds", *plan.frames, args.volume, plan.rounds)
               : fmt::format("sending frames through {} for {:.1f} s in {} rounds", args.volume, seconds(plan.duration),
                             plan.rounds));
  RawReport report;
  LoopbackSession session(loopback);
  CeilingConfig ceiling;
  ceiling.path = args.volume;
  ceiling.superblock = session.superblock();
  ceiling.engine = blockxport::parse_engine_kind(session.engine_name());  // the engine the link ended up with
  ceiling.queue_depth = loopback.queue_depth;
  ceiling.read_depth = loopback.read_depth;
  ceiling.max_read_bytes = loopback.max_read_bytes;
  for (unsigned round = 0; round < plan.rounds; ++round) {
    RoundResult r = run_round(plan, round, session, ceiling);
    progress(fmt::format("round {}/{}: vnic {:.0f} MB/s, write ceiling {:.0f}, loopback ceiling {:.0f}: ratio {:.3f}",
                         round + 1, plan.rounds, r.vnic.bytes_per_second() / 1e6, r.ceiling.bytes_per_second() / 1e6,
                         r.rw_ceiling.bytes_per_second() / 1e6, r.ratio_to_ceiling()));
    report.ceiling.add(r.ceiling);
    report.rw_ceiling.add(r.rw_ceiling);
    report.read_ceiling.add(r.read_ceiling);
    report.rounds.push_back(std::move(r));
  }
  report.vnic = session.finish();

  RawSettings& s = report.settings;
  s.path = args.volume;
  s.engine_requested = args.engine;
  s.frame_size = loopback.frame_size;
  s.queue_depth = loopback.queue_depth;
  s.batch_frames = loopback.batch_frames;
  s.read_depth = loopback.read_depth;
  s.max_read_bytes = loopback.max_read_bytes;
  s.rounds = plan.rounds;
  s.when_ring_full = args.when_ring_full;
  s.frames = plan.frames;
  s.duration_seconds = seconds(plan.duration);
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
      "Send frames through one volume and read them back (one Link, loopback on slot 0), in rounds interleaved "
      "with the volume's own write, read and loopback ceilings.");
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
  cmd->add_option("--max-read", args->max_read,
                  fmt::format("Largest read of consecutive blocks while data streams (default {})",
                              vnic_tools::format_size(blockxport::ReaderOptions{}.max_read_bytes)))
      ->type_name("SIZE");
  cmd->add_option("--rounds", args->rounds,
                  "Rounds of vnic and ceiling slices, interleaved (default: one per second of --duration, 3 with "
                  "--frames)")
      ->type_name("N");
  cmd->add_option("--when-ring-full", args->when_ring_full,
                  "drop: keep offering frames; the writer holds them until a fresh acknowledgement, then tail-drops "
                  "if the ring really is full (default); wait: hold them while the writer's last acknowledgement "
                  "says its ring is full")
      ->type_name("drop|wait");
  cmd->add_option("--fixed-buffers", args->fixed_buffers,
                  "io_uring: register the link's block buffers once, so no request pins its pages (default on); "
                  "off measures what that saves")
      ->type_name("on|off");
  cmd->add_option("--ceiling-duration", args->ceiling_duration,
                  "Seconds of each storage ceiling over all rounds (default: --duration, or 2 with --frames)")
      ->type_name("S");
  cmd->add_flag("--json", args->json, "Print only JSON on stdout");
  cmd->add_flag("--format", args->format, "Format the volume first, whatever it holds (its contents are lost)");
  cmd->footer(
      "Without --format, a blank (all-zero) volume is formatted and a vnic volume with the wanted block size is used "
      "as it is; anything else is refused.\n"
      "Fails (exit 1) if any frame arrives corrupt, twice or out of order, or if delivered + dropped != sent.\n"
      "Block fill = payload bytes written / (blocks written x (block size - 64)); "
      "ratio_to_ceiling = the median over the rounds of delivered payload bytes/s / write-ceiling bytes/s in the "
      "same round; ratio_to_rw_ceiling likewise against the loopback (concurrent write and read-back) ceiling.");
  return {cmd, [args] { return run_raw(*args); }};
}

}  // namespace vnic_bench
