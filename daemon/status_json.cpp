#include "daemon/status_json.h"

#include <algorithm>

#include <fmt/format.h>

#include "daemon/daemon.h"

namespace vnicd {
namespace {

double ms_since(blockxport::TimePoint t, blockxport::TimePoint now) {
  return std::chrono::duration<double, std::milli>(now - t).count();
}

double ratio(uint64_t a, uint64_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b); }

}  // namespace

nlohmann::json latency_json(const blockxport::LatencyHistogram& h) {
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  return {{"count", h.count()},
          {"p50_us", us(h.percentile(0.50))},
          {"p90_us", us(h.percentile(0.90))},
          {"p99_us", us(h.percentile(0.99))},
          {"p999_us", us(h.percentile(0.999))},
          {"max_us", us(h.max())}};
}

namespace {

// Which keys seal and open blocks; key ids only, never anything of the keys themselves.
nlohmann::json auth_json(const blockxport::Keyring* keys) {
  if (!keys) return {{"enabled", false}, {"encrypt", false}};
  nlohmann::json out{
      {"enabled", true}, {"encrypt", keys->encrypts()}, {"key_id", fmt::format("{:08x}", keys->write_key_id())}};
  if (auto accept = keys->accept_key_id()) out["accept_key_id"] = fmt::format("{:08x}", *accept);
  return out;
}


// Every reader's counters added up (nullopt: no reader yet).
std::optional<blockxport::ReaderStats> summed_reader_stats(const blockxport::Link& link) {
  std::optional<blockxport::ReaderStats> total;
  for (const auto& p : link.peers()) {
    if (!p.reader) continue;
    const auto& s = p.reader->stats();
    if (!total) {
      total = s;
      continue;
    }
    auto& t = *total;
    t.frames_delivered += s.frames_delivered;
    t.bytes_delivered += s.bytes_delivered;
    t.blocks_delivered += s.blocks_delivered;
    t.reads += s.reads;
    t.volume_bytes_read += s.volume_bytes_read;
    t.empty_polls += s.empty_polls;
    t.readahead_misses += s.readahead_misses;
    t.torn_rereads += s.torn_rereads;
    t.corrupt_blocks += s.corrupt_blocks;
    t.malformed_blocks += s.malformed_blocks;
    t.missing_blocks += s.missing_blocks;
    t.unreadable_blocks += s.unreadable_blocks;
    t.lapped_resyncs += s.lapped_resyncs;
    t.blocks_lost_lapped += s.blocks_lost_lapped;
    t.epoch_changes += s.epoch_changes;
    t.restart_skipped_blocks += s.restart_skipped_blocks;
    t.stale_epoch_blocks += s.stale_epoch_blocks;
    t.skipped_on_attach += s.skipped_on_attach;
    t.too_old_blocks += s.too_old_blocks;
    t.too_old_frames += s.too_old_frames;
    t.dropped_partial_frames += s.dropped_partial_frames;
    t.read_errors += s.read_errors;
    t.auth_failed_blocks += s.auth_failed_blocks;
    t.auth_no_key_blocks += s.auth_no_key_blocks;
    t.delivery_age.merge(s.delivery_age);
  }
  return total;
}

// One entry per peer slot that has shown a writer (a shared LUN's free slots are left out).
nlohmann::json peers_json(const blockxport::Link& link, blockxport::TimePoint now) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : link.peers()) {
    if (link.shared() && !p.ever_seen) continue;
    nlohmann::json e = {{"slot", p.slot},
                        {"state", std::string(blockxport::peer_state_name(p.monitor.state()))},
                        {"since_ms", ms_since(p.monitor.since(), now)},
                        {"acked", p.acked},
                        {"lapped_out", p.lapped_out}};
    if (const auto& rec = p.monitor.last_record()) {
      e["owner"] = rec->owner;
      e["ifname"] = rec->ifname;
      e["epoch"] = fmt::format("{:016x}", rec->epoch);
      e["heartbeat"] = rec->heartbeat;
      e["head"] = rec->head_sequence;
    }
    if (p.reader) {
      const auto& rs = p.reader->stats();
      e["rx"] = {{"frames", rs.frames_delivered},
                 {"bytes", rs.bytes_delivered},
                 {"next_sequence", p.reader->next_sequence()},
                 {"lost_blocks", rs.blocks_lost_lapped + rs.missing_blocks},
                 {"corrupt_blocks", rs.corrupt_blocks + rs.malformed_blocks},
                 {"lapped_resyncs", rs.lapped_resyncs},
                 {"blocks_lost_lapped", rs.blocks_lost_lapped},
                 {"too_old_frames", rs.too_old_frames},
                 {"partial_frames", rs.dropped_partial_frames}};
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

nlohmann::json build_status(const StatusInputs& in) {
  using nlohmann::json;
  auto now = blockxport::Clock::now();
  const auto& link = in.link;
  const auto& w = link.writer().stats();
  const auto& peer = link.peer();
  const auto& sb = link.send_superblock();

  json flushes = {{"full", w.flushes[0]},
                  {"idle", w.flushes[1]},
                  {"slot_freed", w.flushes[2]},
                  {"deadline", w.flushes[3]},
                  {"forced", w.flushes[4]}};
  // The least acknowledgement among the readers that hold our ring (the one peer of a pair).
  uint64_t acked = 0;
  for (const auto& p : link.peers())
    if (p.acked != 0 && !p.lapped_out && (p.monitor.alive() || p.monitor.state() == blockxport::PeerState::unknown))
      acked = acked == 0 ? p.acked : std::min(acked, p.acked);
  uint64_t written_head = link.writer().durable_head();
  json writer = {
      {"epoch", fmt::format("{:016x}", link.epoch())},
      {"next_sequence", link.writer().next_sequence()},
      {"durable_head", written_head},
      {"acked_by_peer", acked},
      {"ring_blocks", sb.ring_blocks},
      {"ring_occupancy", acked == 0 || acked >= written_head ? 0 : written_head - 1 - acked},
      {"frames", w.frames_sent},
      {"bytes", w.payload_bytes_sent},
      {"blocks", w.blocks_written},
      {"volume_bytes", w.volume_bytes_written},
      {"padding_amplification", ratio(w.volume_bytes_written, w.payload_bytes_written)},
      {"block_fill_ratio",
       ratio(w.payload_bytes_written, w.blocks_written * (sb.block_size - blockxport::kBlockHeaderBytes))},
      {"flush_reasons", flushes},
      {"write_errors", w.write_errors},
      {"write_latency", latency_json(w.write_latency)},
  };

  json reader = nullptr;
  json drops = {
      {"tx_ring_full", w.frames_dropped_ring_full},         {"tx_too_big", w.frames_dropped_too_big},
      {"rx_admin_down", in.counters.rx_dropped_admin_down}, {"rx_tap_rejected", in.tap.stats().tx_dropped},
      {"tx_tap_truncated", in.tap.stats().rx_truncated},
  };
  // Frames the kernel dropped at the interface (its queue was full because we had not read it in
  // time, or it refused what we wrote): ours to show, as a NIC's driver shows its ring overruns.
  if (in.kernel_link) {
    drops["tx_tap_queue_full"] = in.kernel_link->tx_dropped;
    drops["rx_kernel_dropped"] = in.kernel_link->rx_dropped;
  }
  // A shared LUN has a reader per peer slot: the totals here, each peer's own under "peers".
  if (auto total = summed_reader_stats(link)) {
    const auto& rs = *total;
    const auto* r = link.shared() ? nullptr : link.reader();
    reader = {
        {"attached", r ? r->attached() : link.any_peer_alive()},
        {"epoch", r ? json(fmt::format("{:016x}", r->epoch())) : json(nullptr)},
        {"next_sequence", r ? json(r->next_sequence()) : json(nullptr)},
        {"frames", rs.frames_delivered},
        {"bytes", rs.bytes_delivered},
        {"blocks", rs.blocks_delivered},
        {"reads", rs.reads},
        {"volume_bytes_read", rs.volume_bytes_read},
        {"empty_polls", rs.empty_polls},
        {"crc_rereads", rs.torn_rereads},
        {"corrupt_blocks", rs.corrupt_blocks},
        {"malformed_blocks", rs.malformed_blocks},
        {"missing_blocks", rs.missing_blocks},
        {"unreadable_blocks", rs.unreadable_blocks},
        {"lapped_resyncs", rs.lapped_resyncs},
        {"blocks_lost_lapped", rs.blocks_lost_lapped},
        {"epoch_changes", rs.epoch_changes},
        {"restart_skipped_blocks", rs.restart_skipped_blocks},
        {"stale_epoch_blocks", rs.stale_epoch_blocks},
        {"skipped_on_attach", rs.skipped_on_attach},
        {"read_errors", rs.read_errors},
        {"auth_failed_blocks", rs.auth_failed_blocks},
        {"auth_no_key_blocks", rs.auth_no_key_blocks},
        {"delivery_age", latency_json(rs.delivery_age)},
    };
    drops["rx_too_old"] = rs.too_old_frames;
    drops["rx_partial_frames"] = rs.dropped_partial_frames;
    drops["rx_corrupt_blocks"] = rs.corrupt_blocks + rs.malformed_blocks;
    drops["rx_lost_blocks"] = rs.blocks_lost_lapped + rs.missing_blocks;
  }

  json peer_json = {
      {"state", std::string(blockxport::peer_state_name(peer.state()))},
      {"since_ms", ms_since(peer.since(), now)},
  };
  if (const auto& rec = peer.last_record()) {
    peer_json["epoch"] = fmt::format("{:016x}", rec->epoch);
    peer_json["heartbeat"] = rec->heartbeat;
    peer_json["head"] = rec->head_sequence;
  }
  if (link.shared()) {
    // The segment: "alive" while any peer is (what the carrier follows).
    peer_json = {{"state", link.any_peer_alive() ? "alive" : "dead"},
                 {"since_ms", ms_since(in.counters.carrier_since, now)},
                 {"alive_peers", std::count_if(link.peers().begin(), link.peers().end(),
                                               [](const auto& p) { return p.monitor.alive(); })}};
  }
  const auto& tap = in.tap.stats();
  return {
      {"interface",
       {{"name", in.config.ifname},
        {"ifindex", in.tap.ifindex()},
        {"admin_up", in.admin_up},
        {"carrier", in.carrier},
        {"offloads", in.tap.offloads().to_string()},
        {"reattached", in.tap.reattached()},
        {"keep_interface", in.config.keep_interface},
        {"tx_queue_len", in.kernel_link ? nlohmann::json(in.kernel_link->tx_queue_len) : nlohmann::json(nullptr)},
        {"tap",
         {{"from_kernel_frames", tap.rx_frames},
          {"from_kernel_bytes", tap.rx_bytes},
          {"to_kernel_frames", tap.tx_frames},
          {"to_kernel_bytes", tap.tx_bytes}}}}},
      {"volumes",
       {{"send", in.config.send_path},
        {"recv", in.config.recv_path},
        {"engine", std::string(link.engine_name())},
        {"block_size", sb.block_size},
        {"backing", link.send_volume().backing_description()}}},
      {"uptime_s", ms_since(in.started_at, now) / 1000.0},
      // Scheduling and memory lock in force (what was asked for, and what the kernel granted).
      {"process", realtime_status(in.config, in.realtime)},
      // The timers in force (after any SIGHUP), so tools judge figures against the real settings.
      {"config",
       {{"heartbeat_interval_ms", in.config.heartbeat_interval_ms},
        {"dead_after_ms", in.config.dead_after_ms},
        {"max_frame_age_ms", in.config.max_frame_age_ms},
        {"flush_deadline_us", in.config.flush_deadline_us},
        {"poll_spin_us", in.config.poll_spin_us},
        {"poll_max_interval_us", in.config.poll_max_interval_us},
        {"torn_timeout_ms", in.config.torn_timeout_ms},
        {"queue_depth", in.config.queue_depth}}},
      {"mode", link.shared() ? "shared" : "pair"},
      {"slot", link.own_slot()},
      {"node_name", link.shared() ? json(in.config.effective_node_name()) : json(nullptr)},
      {"peer", peer_json},
      {"peers", peers_json(link, now)},
      {"auth", auth_json(link.keys())},
      {"tx", writer},
      {"rx", reader},
      {"drops", drops},
      {"counters",
       {{"carrier_changes", in.counters.carrier_changes},
        {"tx_backpressure_waits", in.counters.tx_backpressure_waits},
        {"reloads", in.counters.reloads},
        {"state_writes", link.stats().state_writes},
        {"state_reads", link.stats().state_reads},
        {"state_unreadable", link.stats().state_unreadable},
        {"state_auth_failed", link.stats().state_auth_failed},
        {"state_unconfirmed", link.stats().state_unconfirmed}}},
  };
}

}  // namespace vnicd
