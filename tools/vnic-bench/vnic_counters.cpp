#include "tools/vnic-bench/vnic_counters.h"

#include <stdexcept>

#include <fmt/format.h>

#include "blockxport/format.h"

namespace vnic_bench {
namespace {

using nlohmann::ordered_json;

uint64_t counter(const nlohmann::json& status, const char* pointer) {
  nlohmann::json::json_pointer path(pointer);
  if (!status.contains(path) || !status.at(path).is_number_integer() || status.at(path).get<int64_t>() < 0)
    throw std::runtime_error(fmt::format("vnicd status: no counter {}", pointer));
  return status.at(path).get<uint64_t>();
}

ordered_json ratio(double numerator, double denominator) {
  if (denominator <= 0) return nullptr;
  return numerator / denominator;
}

ordered_json one_run(uint64_t payload, uint64_t volume, uint64_t blocks, uint32_t block_size) {
  uint64_t room = block_size > blockxport::kBlockHeaderBytes ? block_size - blockxport::kBlockHeaderBytes : 0;
  double usable = static_cast<double>(blocks) * static_cast<double>(room);
  return {{"payload_bytes", payload},
          {"volume_bytes", volume},
          {"blocks", blocks},
          {"volume_bytes_per_payload_byte", ratio(static_cast<double>(volume), static_cast<double>(payload))},
          {"block_fill_ratio", ratio(static_cast<double>(payload), usable)}};
}

}  // namespace

DaemonCounters counters_from_status(const nlohmann::json& status) {
  DaemonCounters c;
  c.payload_bytes = counter(status, "/tx/bytes");
  c.volume_bytes = counter(status, "/tx/volume_bytes");
  c.blocks = counter(status, "/tx/blocks");
  c.reads = counter(status, "/rx/reads");
  c.state_reads = counter(status, "/counters/state_reads");
  c.state_writes = counter(status, "/counters/state_writes");
  c.block_size = static_cast<uint32_t>(counter(status, "/volumes/block_size"));
  return c;
}

ordered_json volume_figures(const DaemonCounters& a0, const DaemonCounters& a1, const DaemonCounters& b0,
                            const DaemonCounters& b1) {
  auto delta = [](uint64_t before, uint64_t after) { return after >= before ? after - before : 0; };
  uint64_t pa = delta(a0.payload_bytes, a1.payload_bytes), pb = delta(b0.payload_bytes, b1.payload_bytes);
  uint64_t va = delta(a0.volume_bytes, a1.volume_bytes), vb = delta(b0.volume_bytes, b1.volume_bytes);
  uint64_t ba = delta(a0.blocks, a1.blocks), bb = delta(b0.blocks, b1.blocks);
  return {{"a", one_run(pa, va, ba, a1.block_size)},
          {"b", one_run(pb, vb, bb, b1.block_size)},
          {"both", one_run(pa + pb, va + vb, ba + bb, a1.block_size)}};
}

ordered_json idle_figures(const DaemonCounters& before, const DaemonCounters& after, double cpu_seconds,
                          double seconds) {
  auto per_s = [seconds](uint64_t from, uint64_t to) {
    return seconds > 0 && to >= from ? static_cast<double>(to - from) / seconds : 0.0;
  };
  double reads = per_s(before.reads, after.reads);
  double state_reads = per_s(before.state_reads, after.state_reads);
  double state_writes = per_s(before.state_writes, after.state_writes);
  double block_writes = per_s(before.blocks, after.blocks);
  return {{"seconds", seconds},
          {"cpu_seconds", cpu_seconds},
          {"cpu_percent_of_one_core", seconds > 0 ? 100.0 * cpu_seconds / seconds : 0.0},
          {"ios_per_s", reads + state_reads + state_writes + block_writes},
          {"data_reads_per_s", reads},
          {"state_reads_per_s", state_reads},
          {"state_writes_per_s", state_writes},
          {"block_writes_per_s", block_writes}};
}

}  // namespace vnic_bench
