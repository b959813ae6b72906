#pragma once

#include "vnic/mac_address.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace vnic {

// RFC 2863 operational state, values as in IF_OPER_* (linux/if.h).
enum class OperState : std::uint8_t {
  unknown = 0,
  not_present = 1,
  down = 2,
  lower_layer_down = 3,
  testing = 4,
  dormant = 5,
  up = 6,
};

std::string_view to_string(OperState state);

// One snapshot of an interface as rtnetlink reports it.
struct LinkState {
  int ifindex = 0;
  std::string name;
  unsigned mtu = 0;
  MacAddress mac;
  unsigned tx_queue_len = 0;
  // The kernel's own drop counters for the interface. On a TAP, tx_dropped counts frames the
  // stack sent while the device's queue (tx_queue_len) was full: the daemon had not read them in
  // time. rx_dropped counts frames the daemon wrote that the stack refused.
  uint64_t tx_dropped = 0;
  uint64_t rx_dropped = 0;
  unsigned flags = 0;     // IFF_* as in `ip link`
  bool admin_up = false;  // IFF_UP: what `ip link set up/down` controls
  bool lower_up = false;  // IFF_LOWER_UP: carrier, reported only while admin up
  bool carrier = false;   // IFLA_CARRIER: carrier even while admin down
  // Trails carrier changes by up to a second: the kernel's linkwatch
  // batches them, and the qdisc only passes traffic once this is `up`.
  OperState operstate = OperState::unknown;
};

}  // namespace vnic
