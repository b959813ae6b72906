// Fault injection at the I/O engine seam, for tests only. A wrapper around a real engine that
// fails a fraction of requests with -EIO (without doing them), does a fraction of them short (a
// real, shorter transfer: a torn write on disk, a short read), or fails every request while an
// "outage" file exists (a volume whose paths all went away), or fails every read that touches
// the byte range named in a "bad read" file (one bad place on a volume: a medium error). Everything else goes to the real
// engine untouched. It is switched on only by the environment variable VNIC_FAULT_INJECT, e.g.
//   VNIC_FAULT_INJECT="read_eio=0.01,write_eio=0.01,short_read=0.005,short_write=0.005,seed=7"
// and says so loudly on stderr when it is.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "blockxport/io_engine.h"

namespace blockxport {

inline constexpr const char* kFaultInjectEnv = "VNIC_FAULT_INJECT";

struct FaultInjection {
  double read_eio = 0;     // fraction of reads failed with -EIO, nothing read
  double write_eio = 0;    // fraction of writes failed with -EIO, nothing written
  double short_read = 0;   // fraction of reads shortened (a multiple of 4 KiB, at least 4 KiB less)
  double short_write = 0;  // fraction of writes shortened: only the first part reaches the volume
  uint64_t seed = 1;
  uint64_t after = 0;       // requests passed untouched first (lets a link come up before faults)
  std::string outage_file;  // while this path exists, every request fails with -EIO
  // While this path holds "OFFSET LENGTH" (bytes), every read overlapping that range fails with
  // -EIO; a missing or empty file: none does. Writes are not touched.
  std::string bad_read_file;
};

// Parses "key=value,key=value"; throws IoEngineError naming the bad key or value.
FaultInjection parse_fault_injection(std::string_view spec);

// `engine` itself when VNIC_FAULT_INJECT is unset or empty; otherwise the wrapper around it.
std::unique_ptr<IoEngine> with_fault_injection(std::unique_ptr<IoEngine> engine);

std::unique_ptr<IoEngine> make_fault_engine(std::unique_ptr<IoEngine> inner, const FaultInjection& faults);

}  // namespace blockxport
