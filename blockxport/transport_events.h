// What the transport tells its owner when it happens (ntb_transport's event handlers in spirit):
// a peer's liveness changed, a reader resynced or skipped, another node took our slot. The owner
// logs and acts on each once; it never compares counters to find them.
#pragma once

#include <cstdint>
#include <string>

#include "blockxport/peer_monitor.h"
#include "blockxport/reader.h"

namespace blockxport {

struct TransportEvent {
  enum class Kind : uint8_t {
    peer_state,  // the peer on `slot` is now `state` (its record's owner in `owner`, if named)
    reader,      // the reader of `slot`: `reader` says what happened
    slot_lost,   // another writer's record is in our slot: `owner` names it; stop writing
  };
  Kind kind = Kind::peer_state;
  uint32_t slot = 0;
  PeerState state = PeerState::unknown;
  ReaderEvent reader{};
  std::string owner;
};

}  // namespace blockxport
