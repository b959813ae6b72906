// vnic-mirror's options: where to copy from and to, and how badly to do it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace vnic_fault {

using Millis = std::chrono::milliseconds;

struct MirrorOptions {
  std::string src;                    // the writer's send volume
  std::string dst;                    // the reader's receive volume (an exact copy of src when the mirror starts)
  uint32_t slot = 0;                  // the writer slot whose ring is followed (every state record is copied)
  Millis lag{0};                      // every copy (state records and blocks) lands this long after it was seen
  double reorder_rate = 0;            // blocks held back a little longer, so later ones land first ...
  Millis reorder_hold{20};            // ... by up to this much (keep it under the reader's torn timeout)
  double torn_rate = 0;               // blocks copied in two parts at a logical-block boundary ...
  Millis torn_delay{20};              // ... the second part this much later ...
  double torn_never = 0;              // ... or, for this fraction of them, never
  double bitflip_rate = 0;            // blocks landing with one bit flipped, in the header or the valid bytes
  double stale_rate = 0;              // blocks that, once copied, go back to the older lap's content ...
  Millis stale_hold{30};              // ... for this long before they are copied again ...
  double stale_never = 0;             // ... or, for this fraction of them, are never copied at all
  double duplicate_rate = 0;          // blocks copied a second time ...
  Millis duplicate_delay{50};         // ... up to this much later (while the slot still holds them)
  std::optional<Millis> pause_after;  // a link outage this long after the start ...
  Millis pause_for{1000};             // ... lasting this long ...
  std::optional<Millis> pause_every;  // ... and again every this often
  std::string control_file;           // "run", "pause" or "vanish": scripted outages
  std::string stats_file;             // the counts are written here on SIGHUP and at exit
  bool whole_blocks = false;          // copy the padding after the valid bytes too (an exact copy, more I/O)
  uint64_t seed = 1;
  std::chrono::microseconds poll{500};  // how often an idle source is looked at
};

// Parses argv; prints help and returns nullopt for --help; throws CLI::ParseError otherwise.
std::optional<MirrorOptions> parse_mirror_options(int argc, char** argv);

}  // namespace vnic_fault
