// The storage floor: what a round trip through the volume costs at the least, with no transport
// at all. One O_DIRECT 4 KiB write and then one 4 KiB read of the same block, at queue depth 1,
// repeated; vnic's request/response round trip needs at least two of these (one per direction).
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "blockxport/io_engine.h"

namespace vnic_bench {

struct FloorPlan {
  std::string dir;    // where the lab's volumes are: the scratch file goes there
  bool loop = false;  // measure through a loop device (direct I/O) over the scratch file instead
  blockxport::EngineKind engine = blockxport::EngineKind::automatic;
  uint64_t iterations = 2000;
  std::chrono::nanoseconds max_time = std::chrono::seconds(3);
};

// {backing, engine, block_bytes, write_read: {count, ..., p99_us, ...}, write, read, histogram
// (of write_read)}. Removes its scratch file and loop device again.
nlohmann::ordered_json measure_storage_floor(const FloorPlan& plan);

}  // namespace vnic_bench
