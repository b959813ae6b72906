#include "mirror_options.h"

#include <CLI/CLI.hpp>

namespace vnic_fault {
namespace {

void add_ms(CLI::App& app, const std::string& name, Millis& value, const std::string& what) {
  app.add_option_function<int64_t>(
         name, [&value](int64_t ms) { value = Millis(ms); },
         what + " (ms, default " + std::to_string(value.count()) + ")")
      ->check(CLI::NonNegativeNumber);
}

void add_optional_ms(CLI::App& app, const std::string& name, std::optional<Millis>& value, const std::string& what) {
  app.add_option_function<int64_t>(
         name, [&value](int64_t ms) { value = Millis(ms); }, what + " (ms)")
      ->check(CLI::NonNegativeNumber);
}

void add_rate(CLI::App& app, const std::string& name, double& value, const std::string& what) {
  app.add_option(name, value, what + " (0 to 1)")->check(CLI::Range(0.0, 1.0));
}

}  // namespace

std::optional<MirrorOptions> parse_mirror_options(int argc, char** argv) {
  MirrorOptions o;
  CLI::App app{
      "vnic-mirror: copies a vnic send volume to a receive volume like an asynchronous storage mirror, with "
      "faults. SIGUSR1 pauses (link outage), SIGUSR2 resumes, SIGHUP writes the counts, SIGTERM prints them as "
      "JSON and exits."};
  app.add_option("--src", o.src, "the writer's send volume")->required();
  app.add_option("--dst", o.dst, "the reader's receive volume (start from an exact copy of --src)")->required();
  app.add_option("--slot", o.slot, "writer slot whose ring is followed");
  add_ms(app, "--lag-ms", o.lag, "every copy lands this long after the mirror saw it");
  add_rate(app, "--reorder-rate", o.reorder_rate, "fraction of blocks held back so later ones land first");
  add_ms(app, "--reorder-ms", o.reorder_hold, "longest extra hold of a reordered block");
  add_rate(app, "--torn-rate", o.torn_rate, "fraction of blocks copied in two parts");
  add_ms(app, "--torn-delay-ms", o.torn_delay, "delay of a torn block's second part");
  add_rate(app, "--torn-never", o.torn_never, "fraction of torn blocks whose second part never lands");
  add_rate(app, "--bitflip-rate", o.bitflip_rate, "fraction of blocks landing with one bit flipped");
  add_rate(app, "--stale-rate", o.stale_rate, "fraction of blocks reverted to the older lap after landing");
  add_ms(app, "--stale-ms", o.stale_hold, "how long a reverted block stays stale");
  add_rate(app, "--stale-never", o.stale_never, "fraction of stale blocks never copied at all");
  add_rate(app, "--duplicate-rate", o.duplicate_rate, "fraction of blocks copied twice");
  add_ms(app, "--duplicate-ms", o.duplicate_delay, "longest delay of the second copy");
  add_optional_ms(app, "--pause-after-ms", o.pause_after, "start a link outage this long after the start");
  add_ms(app, "--pause-ms", o.pause_for, "length of each scheduled outage");
  add_optional_ms(app, "--pause-every-ms", o.pause_every, "repeat the scheduled outage this often");
  app.add_option("--control", o.control_file,
                 "file holding run, pause or vanish, or a burst: damage N, lose N, garbage N, damage-state N "
                 "(polled every 10 ms; a line acts once, until it changes)");
  app.add_option("--stats", o.stats_file, "write the counts as JSON here on SIGHUP and at exit");
  app.add_flag("--whole-blocks", o.whole_blocks, "copy whole blocks, padding included (an exact copy)");
  app.add_option("--seed", o.seed, "seed of every random choice");
  app.add_option_function<int64_t>(
         "--poll-us", [&o](int64_t us) { o.poll = std::chrono::microseconds(us); },
         "how often an idle source is read (us, default 500)")
      ->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    app.exit(e);
    return std::nullopt;
  }
  return o;
}

}  // namespace vnic_fault
