// The daemon's status and counters as JSON: what the control socket answers and what
// `vnicctl status` renders.
#pragma once

#include <nlohmann/json.hpp>

#include "blockxport/clock.h"
#include "blockxport/link.h"
#include "daemon/config.h"
#include "vnic/tap_device.h"

namespace vnicd {

struct DaemonCounters;

struct StatusInputs {
  const Config& config;
  const blockxport::Link& link;
  const vnic::TapDevice& tap;
  const DaemonCounters& counters;
  bool carrier;
  bool admin_up;
  blockxport::TimePoint started_at;
};

nlohmann::json build_status(const StatusInputs& in);

// Percentiles of a latency histogram, in microseconds.
nlohmann::json latency_json(const blockxport::LatencyHistogram& h);

}  // namespace vnicd
