// The daemon's status and counters as JSON: what the control socket answers and what
// `vnicctl status` renders.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "blockxport/clock.h"
#include "blockxport/link.h"
#include "daemon/config.h"
#include "daemon/datapath.h"
#include "daemon/realtime.h"
#include "vnic/link_state.h"
#include "vnic/tap_device.h"

namespace vnicd {

struct StatusInputs {
  const Config& config;
  const blockxport::Link& link;
  const vnic::TapDevice& tap;
  const DatapathCounters& counters;
  uint64_t reloads;
  bool carrier;
  bool admin_up;
  blockxport::TimePoint started_at;
  // The interface as the kernel reports it (its drop counters); empty if netlink failed.
  std::optional<vnic::LinkState> kernel_link;
  const RealtimeState& realtime;
  // A shared LUN's learned destinations; null in a pair.
  const DestinationLearning* learning = nullptr;
};

nlohmann::json build_status(const StatusInputs& in);

// Percentiles of a latency histogram, in microseconds.
nlohmann::json latency_json(const blockxport::LatencyHistogram& h);

}  // namespace vnicd
