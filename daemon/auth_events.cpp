#include "daemon/auth_events.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace vnicd {
namespace {

constexpr auto kRepeatInterval = std::chrono::seconds(60);

}  // namespace

void AuthEventLog::check(const blockxport::Link& link, const std::string& ifname, blockxport::TimePoint now) {
  Seen seen{link.stats().state_auth_failed, 0, 0};
  for (const auto& peer : link.peers()) {
    if (!peer.reader) continue;
    seen.blocks += peer.reader->stats().auth_failed_blocks;
    seen.blocks_no_key += peer.reader->stats().auth_no_key_blocks;
  }
  bool first = (logged_.records == 0 && seen.records > 0) || (logged_.blocks == 0 && seen.blocks > 0) ||
               (logged_.blocks_no_key == 0 && seen.blocks_no_key > 0);
  bool more =
      seen.records != logged_.records || seen.blocks != logged_.blocks || seen.blocks_no_key != logged_.blocks_no_key;
  if (!more || (!first && now < next_log_)) return;
  bool keyed = link.keys() != nullptr;
  if (seen.records != logged_.records)
    spdlog::warn("{}: the peer's state record fails authentication ({} times so far): {}; the peer counts as dead",
                 ifname, seen.records,
                 keyed ? "the peer uses another key or none, or someone else wrote it"
                       : "it is authenticated, but no key_file is configured here");
  if (seen.blocks != logged_.blocks)
    spdlog::warn(
        "{}: {} blocks failed authentication (no tag, another key, forged, altered or replayed): "
        "none delivered",
        ifname, seen.blocks);
  if (seen.blocks_no_key != logged_.blocks_no_key)
    spdlog::warn("{}: {} authenticated blocks from the peer, but no key_file is configured here: none delivered",
                 ifname, seen.blocks_no_key);
  logged_ = seen;
  next_log_ = now + kRepeatInterval;
}

std::string describe_keys(const blockxport::Keyring* keys) {
  if (!keys) return "off (no key_file)";
  std::string text = fmt::format("key id {:08x}", keys->write_key_id());
  if (auto accept = keys->accept_key_id()) text += fmt::format(", also accepting key id {:08x}", *accept);
  text += keys->encrypts() ? ", frames encrypted" : ", frames authenticated (not encrypted)";
  return text;
}

}  // namespace vnicd
