// The human-readable rendering of `vnic-bench raw`: one table, rates in decimal units
// (MB/s = 10^6 bytes/s, Gbit/s = 10^9 bits/s), latencies in microseconds.
#include <string>

#include <fmt/format.h>

#include "tools/common/size_parse.h"
#include "tools/vnic-bench/latency_summary.h"
#include "tools/vnic-bench/raw_report.h"

namespace vnic_bench {
namespace {

std::string rate(double bytes_per_second) {
  return fmt::format("{:.1f} MB/s = {:.3f} Gbit/s", bytes_per_second / 1e6, bytes_per_second * 8 / 1e9);
}

void row(std::string_view name, const std::string& value) { fmt::print("  {:<20}{}\n", name, value); }

void latency_row(std::string_view name, const blockxport::LatencyHistogram& histogram) {
  LatencySummary s = summarize(histogram);
  auto us = [](double ns) { return ns / 1e3; };
  fmt::print("  {:<20}{:>10}{:>9.1f}{:>9.1f}{:>9.1f}{:>9.1f}{:>9.1f}{:>10.1f}{:>9.1f}\n", name, s.count,
             us(static_cast<double>(s.min)), us(static_cast<double>(s.p50)), us(static_cast<double>(s.p90)),
             us(static_cast<double>(s.p99)), us(static_cast<double>(s.p999)), us(static_cast<double>(s.max)),
             us(s.mean));
}

}  // namespace

void print_raw_report(const RawReport& report) {
  const RawSettings& s = report.settings;
  const LoopbackResult& v = report.vnic;
  const blockxport::WriterStats& w = v.writer;
  const blockxport::ReaderStats& r = v.reader;
  FrameAccounting a = report.accounting();

  fmt::print("vnic-bench raw: {}{}\n", s.path, s.formatted_now ? " (formatted for this run)" : "");
  row("backing", fmt::format("{}, logical block {} B", v.backing, v.logical_block_size));
  row("engine", fmt::format("{} (asked for {}), {} requests through registered buffers", v.engine, s.engine_requested,
                            v.fixed_requests));
  row("block size", fmt::format("{}, ring of {} blocks ({})", vnic_tools::format_size(v.superblock.block_size),
                                v.superblock.ring_blocks,
                                vnic_tools::format_size(v.superblock.ring_blocks * v.superblock.block_size)));
  row("frame size", fmt::format("{} B", s.frame_size));
  row("queue depth",
      fmt::format("{} block writes, up to {} blocks read ahead in reads of up to {}, {} frames per "
                  "send()",
                  s.queue_depth, s.read_depth, vnic_tools::format_size(s.max_read_bytes), s.batch_frames));
  row("when ring full", s.when_ring_full == "wait" ? std::string("wait (hold frames until the writer has room)")
                                                   : std::string("drop (the writer tail-drops and counts)"));
  row("run", fmt::format("{} in {} rounds, each a vnic slice and a slice of each ceiling ({:.1f} s of each ceiling "
                         "in all)",
                         s.frames ? fmt::format("{} frames", *s.frames) : fmt::format("{:.1f} s", s.duration_seconds),
                         s.rounds, s.ceiling_seconds));

  fmt::print("\nframes\n");
  row("sent", fmt::format("{}", a.sent));
  row("delivered", fmt::format("{}", a.delivered));
  row("dropped", fmt::format("{} (ring full {}, too big {}, too old {}, lost by the reader {})", a.dropped(),
                             a.dropped_ring_full, a.dropped_too_big, a.dropped_too_old, a.dropped_by_reader));

  fmt::print("\nthroughput\n");
  row("elapsed", fmt::format("{:.3f} s (sending {:.3f} s)", v.elapsed_seconds, v.generate_seconds));
  row("frames/s", fmt::format("{:.0f}", report.frames_per_second()));
  row("payload", rate(report.payload_bytes_per_second()));
  row("write ceiling",
      fmt::format("{} (sequential O_DIRECT writes of {}, depth {}, {}, {:.1f} s)",
                  rate(report.ceiling.bytes_per_second()), vnic_tools::format_size(v.superblock.block_size),
                  s.queue_depth, report.ceiling.engine, report.ceiling.seconds));
  row("loopback ceiling", fmt::format("{} (the same writes, each block read back once written)",
                                      rate(report.rw_ceiling.bytes_per_second())));
  row("read ceiling", fmt::format("{} (sequential reads alone)", rate(report.read_ceiling.bytes_per_second())));
  row("ratio to ceiling", fmt::format("{:.3f} (median of the rounds)", report.ratio_to_ceiling()));
  row("ratio to loopback",
      fmt::format("{:.3f} (median; loopback ceiling / write ceiling: {:.3f}, read / write: "
                  "{:.3f})",
                  report.ratio_to_rw_ceiling(), report.rw_ceiling_to_ceiling(), report.read_ceiling_to_ceiling()));

  fmt::print("\n  {:<8}{:>11}{:>11}{:>11}{:>11}{:>12}{:>12}{:>12}\n", "round", "vnic MB/s", "write", "loopback", "read",
             "vnic/write", "vnic/loop", "loop/write");
  for (size_t i = 0; i < report.rounds.size(); ++i) {
    const RoundResult& round = report.rounds[i];
    fmt::print("  {:<8}{:>11.0f}{:>11.0f}{:>11.0f}{:>11.0f}{:>12.3f}{:>12.3f}{:>12.3f}\n", i + 1,
               round.vnic.bytes_per_second() / 1e6, round.ceiling.bytes_per_second() / 1e6,
               round.rw_ceiling.bytes_per_second() / 1e6, round.read_ceiling.bytes_per_second() / 1e6,
               round.ratio_to_ceiling(), round.ratio_to_rw_ceiling(), round.rw_ceiling_to_ceiling());
  }

  fmt::print("\nblocks\n");
  row("written", fmt::format("{} ({} bytes)", w.blocks_written, w.volume_bytes_written));
  row("fill", fmt::format("{:.1f}% of the {} bytes after each block header", report.block_fill() * 100,
                          v.superblock.block_size - blockxport::kBlockHeaderBytes));
  row("amplification", fmt::format("{:.4f} volume bytes per payload byte", report.amplification()));
  row("flushes", fmt::format("full {}, idle {}, slot freed {}, deadline {}, forced {}", w.flushes[0], w.flushes[1],
                             w.flushes[2], w.flushes[3], w.flushes[4]));
  row("backpressure", fmt::format("{} send() calls cut short (all block buffers busy)", w.backpressure_events));
  row("flow control", fmt::format("{} holds for a fresh acknowledgement, {} confirmed the ring full", w.ring_full_holds,
                                  w.ring_full_confirmed));
  if (s.when_ring_full == "wait") {
    row("ring-full holds",
        fmt::format("{} ({:.3f} s waiting for a fresh acknowledgement)", v.ring_full_holds, v.ring_full_hold_seconds));
  }
  row("write errors", fmt::format("{}", w.write_errors));

  fmt::print("\n  {:<20}{:>10}{:>9}{:>9}{:>9}{:>9}{:>9}{:>10}{:>9}\n", "latency (us)", "count", "min", "p50", "p90",
             "p99", "p99.9", "max", "mean");
  latency_row("block write", w.write_latency);
  latency_row("end to end", v.end_to_end);
  latency_row("block age (reader)", r.delivery_age);
  latency_row("ceiling write", report.ceiling.write_latency);
  latency_row("loopback write", report.rw_ceiling.write_latency);

  fmt::print("\nreader\n");
  row("reads", fmt::format("{} ({} bytes), {} blocks delivered", r.reads, r.volume_bytes_read, r.blocks_delivered));
  row("polls", fmt::format("{} empty, {} read ahead too far, {} torn re-reads, {} read errors", r.empty_polls,
                           r.readahead_misses, r.torn_rereads, r.read_errors));
  row("skipped", fmt::format("corrupt {}, malformed {}, missing {}, lapped {} ({} resyncs), restart {}, on attach {}",
                             r.corrupt_blocks, r.malformed_blocks, r.missing_blocks, r.blocks_lost_lapped,
                             r.lapped_resyncs, r.restart_skipped_blocks, r.skipped_on_attach));
  row("other", fmt::format("{} epoch changes, {} stale-epoch blocks, {} too-old blocks, {} partial frames dropped",
                           r.epoch_changes, r.stale_epoch_blocks, r.too_old_blocks, r.dropped_partial_frames));
  row("state records", fmt::format("{} written, {} read, {} unreadable, {} I/O errors", v.link.state_writes,
                                   v.link.state_reads, v.link.state_unreadable, v.link.io_errors_state));

  const FrameCheckStats& c = v.checks;
  auto failures = report.failures();
  fmt::print("\nchecks\n");
  row("frames", fmt::format("corrupt {}, duplicated {}, reordered {}, {} gaps ({} sequences skipped)", c.corrupt,
                            c.duplicates, c.reorders, c.gaps, c.skipped));
  row("result", failures.empty() ? std::string("OK: every frame sent was delivered intact or counted as dropped")
                                 : fmt::format("FAILED: {}", fmt::join(failures, "; ")));
}

}  // namespace vnic_bench
