// The mirror emulator's engine: follows one writer's ring on the source volume block by block (by
// reading block headers at the next expected sequence, as the writer writes in sequence order),
// copies the state table whenever it changes, and lands every copy on the destination after a lag
// and through the configured faults. Single-threaded: the owner calls step() in a loop.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "blockxport/aligned_buffer.h"
#include "blockxport/clock.h"
#include "blockxport/format.h"
#include "blockxport/volume.h"
#include "mirror_io.h"
#include "mirror_options.h"

namespace vnic_fault {

using blockxport::Clock;
using blockxport::TimePoint;

struct MirrorStats {
  uint64_t blocks_seen = 0;   // distinct blocks found on the source
  uint64_t block_writes = 0;  // writes of (parts of) blocks to the destination
  uint64_t state_writes = 0;  // copies of the state table
  uint64_t bytes_written = 0;
  uint64_t reordered = 0;      // blocks held back so that later ones landed first
  uint64_t torn = 0;           // blocks copied in two parts ...
  uint64_t torn_never = 0;     // ... of which the second part never landed ...
  uint64_t torn_harmless = 0;  // ... but held no valid byte (only padding was missing)
  uint64_t bitflips = 0;
  uint64_t bitflips_in_header = 0;
  uint64_t stale = 0;        // blocks reverted to the older lap's content for a while
  uint64_t stale_never = 0;  // blocks never copied: the slot kept the older lap
  uint64_t duplicates = 0;
  uint64_t duplicates_skipped = 0;  // the slot had moved on to a newer block by then
  uint64_t pauses = 0;
  uint64_t vanishes = 0;
  uint64_t lapped_jumps = 0;  // the writer had gone a whole ring past the mirror (after an outage)
  uint64_t epoch_jumps = 0;   // the writer restarted further on
  // Scripted bursts (the control file): blocks landing damaged, blocks never copied, ring places
  // ahead of the writer filled with garbage, state-table copies landing damaged.
  uint64_t burst_damaged = 0;
  uint64_t burst_lost = 0;
  uint64_t garbage_ahead = 0;
  uint64_t state_damaged = 0;
  // Blocks that never land intact, and the whole frames in them (records flagged FIRST|LAST): the
  // reader cannot know how many frames a block it skips held, so this is how tests reconcile.
  uint64_t destroyed_blocks = 0;
  uint64_t destroyed_frames = 0;
  uint64_t next_sequence = 0;  // where the mirror is in the writer's ring
};

nlohmann::json to_json(const MirrorStats& stats);

class Mirror {
 public:
  explicit Mirror(const MirrorOptions& options);

  // Copies the whole source (an array establishing its mirror) and finds the writer's position.
  void initial_sync();
  // One pass: copies what is new on the source (unless paused) and lands what is due. Returns
  // true when it found or wrote something, so the caller should go again at once.
  bool step(TimePoint now);
  std::optional<TimePoint> next_due() const;
  // Sleeps until `when`, or until a write in flight completes.
  void wait_until(TimePoint when);

  void pause();
  void resume();
  // The destination disappears (truncated to nothing, so every read of it fails short) until
  // resume(), which rebuilds it from the source like a full resynchronisation.
  void vanish();
  // The next `count` blocks land with a bit flipped (each destroyed, as --bitflip-rate does).
  void damage_next(uint64_t count) { damage_pending_ += count; }
  // The next `count` blocks are never copied: their places keep what they held.
  void lose_next(uint64_t count) { lose_pending_ += count; }
  // The `count` places the writer writes next get garbage now, and its writes to them are lost: a
  // resynchronisation that left damage ahead of the writer's head.
  void garbage_ahead(uint64_t count);
  // The next `count` copies of the state table land with a bit flipped in the followed record.
  void damage_state_next(uint64_t count) { state_damage_pending_ += count; }
  bool paused() const { return paused_; }
  bool vanished() const { return vanished_; }
  const MirrorStats& stats() const { return stats_; }

 private:
  enum class JobKind : uint8_t { state, block, torn_rest, duplicate, stale_revert, stale_repair };
  struct Job {
    JobKind kind;
    uint64_t sequence = 0;                            // blocks: which one
    std::shared_ptr<blockxport::AlignedBuffer> data;  // the bytes, as they are to land
    uint64_t offset = 0;                              // on the volume, of data[0]
    uint32_t begin = 0, length = 0;                   // the part of data that this job writes
    bool stale = false;                               // revert it to the older lap once it lands
  };

  blockxport::AlignedBuffer read_image() const;
  void rebuild();
  void repair(uint64_t from, uint64_t to);  // copies what the source has in [from, to) and the destination lacks
  void learn(const blockxport::AlignedBuffer& image);
  bool capture(TimePoint now);
  std::shared_ptr<blockxport::AlignedBuffer> read_state(TimePoint now);
  bool capture_blocks(TimePoint now);
  void take_block(std::shared_ptr<blockxport::AlignedBuffer> data, uint64_t sequence, TimePoint now);
  bool apply_due(TimePoint now);
  bool apply(Job& job, TimePoint now);  // false: the engine is full, try again later
  bool write(uint64_t key, const Job& job);
  void schedule(TimePoint when, Job job) { jobs_.emplace(when, std::move(job)); }
  void destroyed(const blockxport::AlignedBuffer& block, uint64_t sequence);
  bool ours(const blockxport::BlockDecode& decoded) const;
  bool chance(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  blockxport::Nanos up_to(std::chrono::milliseconds limit);
  uint64_t position(uint64_t sequence) const { return sequence % sb_.ring_blocks; }
  uint32_t round_to_lbs(uint32_t bytes) const;
  std::shared_ptr<blockxport::AlignedBuffer> read_src(uint64_t offset, uint32_t length) const;

  MirrorOptions options_;
  blockxport::Volume src_;
  blockxport::Volume dst_;
  std::unique_ptr<MirrorIo> io_;
  blockxport::Superblock sb_;
  uint32_t lbs_ = 512;
  std::mt19937_64 rng_;
  std::multimap<TimePoint, Job> jobs_;  // by when they land; equal times keep their order
  std::vector<std::byte> last_state_;
  std::vector<uint64_t> dst_sequence_;  // per ring position: the block the mirror last landed there
  uint64_t expect_ = 1;
  uint32_t window_ = 1;  // sequences read ahead in parallel
  uint32_t max_window_ = 1;
  uint64_t epoch_ = 0;
  uint64_t state_head_ = 0;                    // the head named by the state table read last ...
  std::optional<TimePoint> state_held_since_;  // ... held back since then, until the blocks are copied
  uint64_t last_destroyed_ = 0;                // the last block destroyed ...
  bool last_destroyed_open_ = false;           // ... ended with the start of a frame
  uint64_t torn_expect_ = 0;                   // a torn block at this sequence was read whole ...
  TimePoint torn_retry_at_{};                  // ... and is read whole again from then on
  uint64_t damage_pending_ = 0;
  uint64_t lose_pending_ = 0;
  uint64_t state_damage_pending_ = 0;
  bool paused_ = false;
  bool vanished_ = false;
  MirrorStats stats_;
};

}  // namespace vnic_fault
