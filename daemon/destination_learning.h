// Where each MAC address lives on a shared LUN, learned as a bridge learns its ports: from the
// source address of every frame a peer slot delivers. A frame to a learned unicast address is
// written for that slot alone (the block's destination mask, docs/FORMAT.md), so the other nodes
// pass over it unread; broadcast, multicast and addresses not learned go to every slot, so
// nothing is lost while the table learns. An entry holds only while the writer that taught it
// (its slot's epoch) is alive: a node that restarts or dies is flooded to until it speaks again.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>

#include "blockxport/clock.h"
#include "blockxport/format.h"

namespace vnicd {

struct LearningStats {
  uint64_t frames_directed = 0;  // sent to the one slot their destination was learned at
  uint64_t frames_flooded = 0;   // sent to every slot: broadcast, multicast or not learned
  uint64_t addresses_moved = 0;  // an address seen at a new slot (a node moved, or took another slot)
  uint64_t table_full = 0;       // an address not learned because the table was full (it floods)
};

class DestinationLearning {
 public:
  // A bridge's default ageing time: an address silent this long is flooded to again.
  static constexpr blockxport::Nanos kDefaultMaxAge{300'000'000'000};
  static constexpr size_t kMaxEntries = 4096;
  // The writer epoch alive in each slot now, 0 where none is (the caller's view of its peers).
  using LiveEpochs = std::array<uint64_t, blockxport::kMaxSlots>;

  explicit DestinationLearning(blockxport::Nanos max_age = kDefaultMaxAge) : max_age_(max_age) {}

  // A frame (`ethernet`: from its destination address on) delivered from `slot`, written by its
  // writer's `epoch`.
  void learn(std::span<const std::byte> ethernet, uint32_t slot, uint64_t epoch, blockxport::TimePoint now);
  // The slots a frame is for: one bit, or every bit (flooded). Counts which.
  uint64_t destinations(std::span<const std::byte> ethernet, const LiveEpochs& live, blockxport::TimePoint now);

  size_t size() const { return table_.size(); }
  const LearningStats& stats() const { return stats_; }

 private:
  struct Entry {
    uint32_t slot = 0;
    uint64_t epoch = 0;
    blockxport::TimePoint seen{};
  };
  void evict_expired(blockxport::TimePoint now);

  blockxport::Nanos max_age_;
  std::unordered_map<uint64_t, Entry> table_;  // keyed by the 48-bit address
  LearningStats stats_;
};

}  // namespace vnicd
