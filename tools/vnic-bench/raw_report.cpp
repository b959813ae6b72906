#include "tools/vnic-bench/raw_report.h"

#include <algorithm>

#include <fmt/format.h>

namespace vnic_bench {
namespace {

uint64_t reader_losses(const blockxport::ReaderStats& r) {
  return r.corrupt_blocks + r.malformed_blocks + r.missing_blocks + r.blocks_lost_lapped + r.restart_skipped_blocks +
         r.skipped_on_attach + r.too_old_blocks + r.dropped_partial_frames;
}

double ratio(double part, double whole) { return whole > 0 ? part / whole : 0.0; }

template <typename Of>
double median_of(const std::vector<RoundResult>& rounds, Of of) {
  std::vector<double> values;
  for (const RoundResult& r : rounds) values.push_back(of(r));
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

}  // namespace

FrameAccounting RawReport::accounting() const {
  FrameAccounting a;
  a.sent = vnic.frames_generated;
  a.delivered = vnic.checks.unique;
  a.dropped_ring_full = vnic.writer.frames_dropped_ring_full;
  a.dropped_too_big = vnic.writer.frames_dropped_too_big;
  a.dropped_too_old = vnic.reader.too_old_frames;
  int64_t missing = static_cast<int64_t>(a.sent) - static_cast<int64_t>(a.delivered) -
                    static_cast<int64_t>(a.dropped_ring_full + a.dropped_too_big + a.dropped_too_old);
  // The reader counts lost blocks, not the frames in them: frames missing after a counted block
  // loss are put down to it; missing frames with no loss counted anywhere are silent losses.
  if (missing > 0 && reader_losses(vnic.reader) > 0) {
    a.dropped_by_reader = static_cast<uint64_t>(missing);
    missing = 0;
  }
  a.unexplained = missing;
  return a;
}

double RawReport::payload_bytes_per_second() const {
  return ratio(static_cast<double>(vnic.checks.payload_bytes), vnic.elapsed_seconds);
}

double RawReport::frames_per_second() const {
  return ratio(static_cast<double>(vnic.checks.unique), vnic.elapsed_seconds);
}

double RawReport::block_fill() const {
  double capacity = static_cast<double>(vnic.writer.blocks_written) *
                    static_cast<double>(vnic.superblock.block_size - blockxport::kBlockHeaderBytes);
  return ratio(static_cast<double>(vnic.writer.payload_bytes_written), capacity);
}

double RawReport::amplification() const {
  return ratio(static_cast<double>(vnic.writer.volume_bytes_written),
               static_cast<double>(vnic.writer.payload_bytes_written));
}

double RoundResult::ratio_to_ceiling() const { return ratio(vnic.bytes_per_second(), ceiling.bytes_per_second()); }
double RoundResult::ratio_to_rw_ceiling() const {
  return ratio(vnic.bytes_per_second(), rw_ceiling.bytes_per_second());
}
double RoundResult::rw_ceiling_to_ceiling() const {
  return ratio(rw_ceiling.bytes_per_second(), ceiling.bytes_per_second());
}
double RoundResult::read_ceiling_to_ceiling() const {
  return ratio(read_ceiling.bytes_per_second(), ceiling.bytes_per_second());
}

double RawReport::ratio_to_ceiling() const {
  return median_of(rounds, [](const RoundResult& r) { return r.ratio_to_ceiling(); });
}
double RawReport::ratio_to_rw_ceiling() const {
  return median_of(rounds, [](const RoundResult& r) { return r.ratio_to_rw_ceiling(); });
}
double RawReport::rw_ceiling_to_ceiling() const {
  return median_of(rounds, [](const RoundResult& r) { return r.rw_ceiling_to_ceiling(); });
}
double RawReport::read_ceiling_to_ceiling() const {
  return median_of(rounds, [](const RoundResult& r) { return r.read_ceiling_to_ceiling(); });
}

std::vector<std::string> RawReport::failures() const {
  std::vector<std::string> out;
  const FrameCheckStats& c = vnic.checks;
  if (c.corrupt > 0) out.push_back(fmt::format("{} frames arrived corrupt", c.corrupt));
  if (c.duplicates > 0) out.push_back(fmt::format("{} frames arrived twice", c.duplicates));
  if (c.reorders > 0) out.push_back(fmt::format("{} frames arrived out of order", c.reorders));
  FrameAccounting a = accounting();
  if (a.unexplained > 0) {
    out.push_back(fmt::format("{} of {} frames sent were neither delivered nor counted as dropped{}", a.unexplained,
                              a.sent, vnic.drained ? "" : " (the reader had not caught up when the drain timed out)"));
  } else if (a.unexplained < 0) {
    out.push_back(fmt::format("{} more frames were delivered than sent minus dropped", -a.unexplained));
  }
  uint64_t writer_total = vnic.writer.frames_sent + a.dropped_ring_full + a.dropped_too_big;
  if (writer_total != a.sent)
    out.push_back(fmt::format("the writer accounts for {} frames, but {} were sent", writer_total, a.sent));
  return out;
}

}  // namespace vnic_bench
