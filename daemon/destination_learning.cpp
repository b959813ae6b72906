#include "daemon/destination_learning.h"

#include <iterator>

namespace vnicd {
namespace {

constexpr size_t kMacBytes = 6;
constexpr size_t kEthernetHeaderBytes = 14;

uint64_t mac_at(std::span<const std::byte> bytes) {
  uint64_t mac = 0;
  for (size_t i = 0; i < kMacBytes; ++i) mac = mac << 8 | static_cast<uint64_t>(bytes[i]);
  return mac;
}

// The group bit: broadcast and multicast addresses name no one node.
bool is_group(uint64_t mac) { return (mac >> 40) & 1; }

}  // namespace

void DestinationLearning::learn(std::span<const std::byte> ethernet, uint32_t slot, uint64_t epoch,
                                blockxport::TimePoint now) {
  if (ethernet.size() < kEthernetHeaderBytes || slot >= blockxport::kMaxSlots) return;
  uint64_t source = mac_at(ethernet.subspan(kMacBytes));
  if (is_group(source)) return;  // not a station's address (a forged or broken frame)
  auto it = table_.find(source);
  if (it == table_.end()) {
    if (table_.size() >= kMaxEntries) evict_expired(now);
    if (table_.size() >= kMaxEntries) {
      ++stats_.table_full;
      return;
    }
    table_.emplace(source, Entry{slot, epoch, now});
    return;
  }
  if (it->second.slot != slot) ++stats_.addresses_moved;
  it->second = Entry{slot, epoch, now};
}

uint64_t DestinationLearning::destinations(std::span<const std::byte> ethernet, const LiveEpochs& live,
                                           blockxport::TimePoint now) {
  if (ethernet.size() >= kEthernetHeaderBytes) {
    uint64_t destination = mac_at(ethernet);
    if (!is_group(destination)) {
      auto it = table_.find(destination);
      if (it != table_.end()) {
        const Entry& e = it->second;
        bool fresh = now - e.seen < max_age_;
        // Learned from the writer still alive in that slot: another epoch there is another
        // incarnation (or another node), which may not hold that address any more.
        if (fresh && e.epoch != 0 && live[e.slot] == e.epoch) {
          ++stats_.frames_directed;
          return uint64_t{1} << e.slot;
        }
      }
    }
  }
  ++stats_.frames_flooded;
  return blockxport::kAllDestinations;
}

void DestinationLearning::evict_expired(blockxport::TimePoint now) {
  for (auto it = table_.begin(); it != table_.end();)
    it = now - it->second.seen >= max_age_ ? table_.erase(it) : std::next(it);
}

}  // namespace vnicd
