// The vnicd counters the lab reads from `vnicctl status --json` (daemon/status_json.cpp), and the
// figures it derives from two readings: volume bytes written per payload byte and block fill over
// a run, and the I/Os an idle link costs.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

namespace vnic_bench {

struct DaemonCounters {
  uint64_t payload_bytes = 0;  // tx.bytes: frame bytes handed to the writer
  uint64_t volume_bytes = 0;   // tx.volume_bytes: bytes written to the send volume (blocks)
  uint64_t blocks = 0;         // tx.blocks
  uint64_t reads = 0;          // rx.reads: data-area reads of the receive volume, empty polls included
  uint64_t state_reads = 0;    // counters.state_reads: reads of the peer's state record
  uint64_t state_writes = 0;   // counters.state_writes: heartbeats and acknowledgements
  uint32_t block_size = 0;     // volumes.block_size
};

// Throws std::runtime_error naming the first key that is missing.
DaemonCounters counters_from_status(const nlohmann::json& status);

// Both nodes over one run ({a, b, both}: payload_bytes, volume_bytes, blocks,
// volume_bytes_per_payload_byte, block_fill_ratio). The fill is payload / (blocks x (block size -
// 64-byte header)); the status JSON's own ratios are since start-up, these are the run's alone.
nlohmann::ordered_json volume_figures(const DaemonCounters& a_before, const DaemonCounters& a_after,
                                      const DaemonCounters& b_before, const DaemonCounters& b_after);

// One idle daemon over `seconds`: cpu_percent_of_one_core, and I/Os per second split by kind.
nlohmann::ordered_json idle_figures(const DaemonCounters& before, const DaemonCounters& after, double cpu_seconds,
                                    double seconds);

}  // namespace vnic_bench
