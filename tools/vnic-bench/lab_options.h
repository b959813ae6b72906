// `vnic-bench lab`'s command line, checked before anything is created: a bad option exits 2 with
// one line and leaves nothing behind.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "blockxport/io_engine.h"

namespace vnic_bench {

struct LabArgs {
  std::string duration = "10";
  std::string block_size = "64K";
  std::string engine = "auto";
  std::string backing = "file";
  std::string plot = "vnic-bench-lab.svg";
  std::string name = "vnic-bench";
  std::string idle_duration = "10";
  std::string port = "7700";
  std::string rounds = "1";
  std::string nodes;  // empty: the two-volume pair
  bool json = false;
};

struct LabPlan {
  std::chrono::nanoseconds duration{};  // per test
  std::string block_size;               // as vnic-lab takes it ("64K")
  uint32_t block_bytes = 0;
  std::string engine;  // as vnic-lab and vnicd take it ("auto", "io_uring", ...)
  blockxport::EngineKind engine_kind = blockxport::EngineKind::automatic;
  std::string backing;  // "file" or "loop"
  std::string plot_path;
  std::string name;  // namespaces NAME-a and NAME-b, /run/NAME, /var/tmp/NAME
  std::chrono::nanoseconds idle_duration{};
  uint16_t port = 0;
  unsigned rounds = 1;  // each path measured this many times, interleaved
  // 0: vnic is a mirrored pair (two volumes); 2 to 8: that many nodes on one shared LUN, measured
  // between a and b while the others look on.
  unsigned nodes = 0;
  bool json = false;
};

// Throws vnic_tools::UsageError naming the option.
LabPlan lab_plan_from(const LabArgs& args);

}  // namespace vnic_bench
