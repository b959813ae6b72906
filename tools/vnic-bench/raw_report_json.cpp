// The JSON rendering of `vnic-bench raw --json`: the only thing on stdout. Latencies in ns, rates
// in bytes/s (and Gbit/s = 10^9 bits/s).
#include <iostream>

#include <nlohmann/json.hpp>

#include "tools/vnic-bench/latency_summary.h"
#include "tools/vnic-bench/raw_report.h"

namespace vnic_bench {
namespace {

using nlohmann::json;

json config_json(const RawReport& report) {
  const RawSettings& s = report.settings;
  const LoopbackResult& v = report.vnic;
  json out{{"path", s.path},
           {"backing", v.backing},
           {"logical_block_size", v.logical_block_size},
           {"engine", v.engine},
           {"fixed_buffer_requests", v.fixed_requests},
           {"engine_requested", s.engine_requested},
           {"block_size", v.superblock.block_size},
           {"ring_blocks", v.superblock.ring_blocks},
           {"frame_size", s.frame_size},
           {"queue_depth", s.queue_depth},
           {"batch_frames", s.batch_frames},
           {"read_depth", s.read_depth},
           {"max_read_bytes", s.max_read_bytes},
           {"rounds", s.rounds},
           {"when_ring_full", s.when_ring_full},
           {"ceiling_seconds", s.ceiling_seconds},
           {"formatted_now", s.formatted_now}};
  if (s.frames)
    out["frames"] = *s.frames;
  else
    out["duration_seconds"] = s.duration_seconds;
  return out;
}

json vnic_json(const RawReport& report) {
  const LoopbackResult& v = report.vnic;
  const blockxport::WriterStats& w = v.writer;
  FrameAccounting a = report.accounting();
  double bytes_per_second = report.payload_bytes_per_second();
  return json{{"frames_sent", a.sent},
              {"frames_delivered", a.delivered},
              {"frames_dropped", a.dropped()},
              {"elapsed_seconds", v.elapsed_seconds},
              {"send_seconds", v.generate_seconds},
              {"drained", v.drained},
              {"frames_per_second", report.frames_per_second()},
              {"payload_bytes_delivered", v.checks.payload_bytes},
              {"payload_bytes_per_second", bytes_per_second},
              {"payload_gbit_per_second", bytes_per_second * 8 / 1e9},
              {"blocks_written", w.blocks_written},
              {"volume_bytes_written", w.volume_bytes_written},
              {"payload_bytes_written", w.payload_bytes_written},
              {"block_fill", report.block_fill()},
              {"padding_amplification", report.amplification()},
              {"backpressure_events", w.backpressure_events},
              {"ring_full_holds_writer", w.ring_full_holds},
              {"ring_full_confirmed", w.ring_full_confirmed},
              {"ring_full_holds", v.ring_full_holds},
              {"ring_full_hold_seconds", v.ring_full_hold_seconds},
              {"write_errors", w.write_errors},
              {"flushes",
               {{"full", w.flushes[0]},
                {"idle", w.flushes[1]},
                {"slot_freed", w.flushes[2]},
                {"deadline", w.flushes[3]},
                {"forced", w.flushes[4]}}}};
}

json ceiling_json(const CeilingResult& c) {
  return json{{"engine", c.engine},
              {"seconds", c.seconds},
              {"writes", c.writes},
              {"reads", c.reads},
              {"bytes", c.bytes},
              {"bytes_written", c.bytes_written},
              {"bytes_read", c.bytes_read},
              {"bytes_per_second", c.bytes_per_second()},
              {"gbit_per_second", c.bytes_per_second() * 8 / 1e9}};
}

json rounds_json(const RawReport& report) {
  json out = json::array();
  for (const RoundResult& r : report.rounds) {
    out.push_back(json{{"frames", r.vnic.frames_generated},
                       {"vnic_bytes_per_second", r.vnic.bytes_per_second()},
                       {"vnic_seconds", r.vnic.elapsed_seconds},
                       {"ceiling_bytes_per_second", r.ceiling.bytes_per_second()},
                       {"rw_ceiling_bytes_per_second", r.rw_ceiling.bytes_per_second()},
                       {"read_ceiling_bytes_per_second", r.read_ceiling.bytes_per_second()},
                       {"ratio_to_ceiling", r.ratio_to_ceiling()},
                       {"ratio_to_rw_ceiling", r.ratio_to_rw_ceiling()},
                       {"rw_ceiling_to_ceiling", r.rw_ceiling_to_ceiling()},
                       {"read_ceiling_to_ceiling", r.read_ceiling_to_ceiling()}});
  }
  return out;
}

json drops_json(const RawReport& report) {
  FrameAccounting a = report.accounting();
  return json{{"total", a.dropped()},
              {"ring_full", a.dropped_ring_full},
              {"ring_full_bytes", report.vnic.writer.bytes_dropped_ring_full},
              {"too_big", a.dropped_too_big},
              {"too_old", a.dropped_too_old},
              {"lost_by_reader", a.dropped_by_reader},
              {"unexplained", a.unexplained}};
}

json reader_json(const blockxport::ReaderStats& r) {
  return json{{"frames_delivered", r.frames_delivered},
              {"bytes_delivered", r.bytes_delivered},
              {"blocks_delivered", r.blocks_delivered},
              {"reads", r.reads},
              {"volume_bytes_read", r.volume_bytes_read},
              {"empty_polls", r.empty_polls},
              {"readahead_misses", r.readahead_misses},
              {"torn_rereads", r.torn_rereads},
              {"corrupt_blocks", r.corrupt_blocks},
              {"malformed_blocks", r.malformed_blocks},
              {"missing_blocks", r.missing_blocks},
              {"lapped_resyncs", r.lapped_resyncs},
              {"blocks_lost_lapped", r.blocks_lost_lapped},
              {"epoch_changes", r.epoch_changes},
              {"restart_skipped_blocks", r.restart_skipped_blocks},
              {"stale_epoch_blocks", r.stale_epoch_blocks},
              {"skipped_on_attach", r.skipped_on_attach},
              {"too_old_blocks", r.too_old_blocks},
              {"too_old_frames", r.too_old_frames},
              {"dropped_partial_frames", r.dropped_partial_frames},
              {"read_errors", r.read_errors}};
}

json checks_json(const RawReport& report) {
  const FrameCheckStats& c = report.vnic.checks;
  return json{{"delivered_total", c.delivered}, {"corrupt", c.corrupt}, {"duplicates", c.duplicates},
              {"reorders", c.reorders},         {"gaps", c.gaps},       {"skipped_sequences", c.skipped}};
}

}  // namespace

void print_raw_report_json(const RawReport& report) {
  const LoopbackResult& v = report.vnic;
  auto failures = report.failures();
  json out{{"ratio_to_ceiling", report.ratio_to_ceiling()},
           {"ratio_to_rw_ceiling", report.ratio_to_rw_ceiling()},
           {"rw_ceiling_to_ceiling", report.rw_ceiling_to_ceiling()},
           {"read_ceiling_to_ceiling", report.read_ceiling_to_ceiling()},
           {"ok", failures.empty()},
           {"failures", failures},
           {"config", config_json(report)},
           {"vnic", vnic_json(report)},
           {"ceiling", ceiling_json(report.ceiling)},
           {"rw_ceiling", ceiling_json(report.rw_ceiling)},
           {"read_ceiling", ceiling_json(report.read_ceiling)},
           {"rounds", rounds_json(report)},
           {"latency",
            {{"unit", "ns"},
             {"block_write", to_json(summarize(v.writer.write_latency))},
             {"end_to_end", to_json(summarize(v.end_to_end))},
             {"block_age", to_json(summarize(v.reader.delivery_age))},
             {"ceiling_write", to_json(summarize(report.ceiling.write_latency))},
             {"rw_ceiling_write", to_json(summarize(report.rw_ceiling.write_latency))}}},
           {"drops", drops_json(report)},
           {"checks", checks_json(report)},
           {"reader", reader_json(v.reader)},
           {"link",
            {{"state_writes", v.link.state_writes},
             {"state_reads", v.link.state_reads},
             {"state_unreadable", v.link.state_unreadable},
             {"state_io_errors", v.link.io_errors_state}}}};
  std::cout << out.dump(2) << '\n';
}

}  // namespace vnic_bench
