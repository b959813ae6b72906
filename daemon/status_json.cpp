#include "daemon/status_json.h"

#include <algorithm>

#include <fmt/format.h>

#include "control/status_keys.h"

namespace vnicd {
namespace {

namespace keys = vnic_control::keys;

double ms_since(blockxport::TimePoint t, blockxport::TimePoint now) {
  return std::chrono::duration<double, std::milli>(now - t).count();
}

// The wall clock at the answer: every since_ms above is relative to it, so a reader dates a change
// exactly (time_unix_ms - since_ms) however long the answer took to reach it.
double unix_ms_now() {
  return std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double ratio(uint64_t a, uint64_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b); }

}  // namespace

nlohmann::json latency_json(const blockxport::LatencyHistogram& h) {
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  return {{keys::kCount, h.count()},
          {keys::kP50Us, us(h.percentile(0.50))},
          {keys::kP90Us, us(h.percentile(0.90))},
          {keys::kP99Us, us(h.percentile(0.99))},
          {keys::kP999Us, us(h.percentile(0.999))},
          {keys::kMaxUs, us(h.max())}};
}

namespace {

// Which keys seal and open blocks; key ids only, never anything of the keys themselves.
nlohmann::json auth_json(const blockxport::Keyring* keyring) {
  if (!keyring) return {{keys::kEnabled, false}, {keys::kEncrypt, false}};
  nlohmann::json out{{keys::kEnabled, true},
                     {keys::kEncrypt, keyring->encrypts()},
                     {keys::kKeyId, fmt::format("{:08x}", keyring->write_key_id())}};
  if (auto accept = keyring->accept_key_id()) out[keys::kAcceptKeyId] = fmt::format("{:08x}", *accept);
  return out;
}

}  // namespace

namespace {

// One entry per peer slot that has shown a writer (a shared LUN's free slots are left out).
nlohmann::json peers_json(const blockxport::Link& link, blockxport::TimePoint now) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : link.peers()) {
    if (link.shared() && !p.ever_seen) continue;
    nlohmann::json e = {{keys::kSlot, p.slot},
                        {keys::kState, std::string(blockxport::peer_state_name(p.monitor.state()))},
                        {keys::kSinceMs, ms_since(p.monitor.since(), now)},
                        {keys::kAcked, p.acked},
                        {keys::kLappedOut, p.lapped_out}};
    if (const auto& rec = p.monitor.last_record()) {
      e[keys::kOwner] = rec->owner;
      e[keys::kIfname] = rec->ifname;
      e[keys::kEpoch] = fmt::format("{:016x}", rec->epoch);
      e[keys::kHeartbeat] = rec->heartbeat;
      e[keys::kHead] = rec->head_sequence;
    }
    if (p.reader) {
      const auto& rs = p.reader->stats();
      e[keys::kRx] = {{keys::kFrames, rs.frames_delivered},
                      {keys::kBytes, rs.bytes_delivered},
                      {keys::kBlocks, rs.blocks_delivered},
                      {keys::kNextSequence, p.reader->next_sequence()},
                      {keys::kLostBlocks, rs.blocks_lost_lapped + rs.missing_blocks},
                      {keys::kCorruptBlocks, rs.corrupt_blocks + rs.malformed_blocks},
                      {keys::kLappedResyncs, rs.lapped_resyncs},
                      {keys::kBlocksLostLapped, rs.blocks_lost_lapped},
                      {keys::kTooOldFrames, rs.too_old_frames},
                      {keys::kPartialFrames, rs.dropped_partial_frames},
                      {keys::kNotForUsBlocks, rs.blocks_not_for_us}};
    }
    out.push_back(std::move(e));
  }
  return out;
}

// Where unicast went: to one learned slot, or flooded to all (see destination_learning.h).
nlohmann::json learning_json(const DestinationLearning* learning) {
  if (!learning) return nullptr;
  const auto& st = learning->stats();
  return {{keys::kAddresses, learning->size()},
          {keys::kFramesDirected, st.frames_directed},
          {keys::kFramesFlooded, st.frames_flooded},
          {keys::kAddressesMoved, st.addresses_moved},
          {keys::kTableFull, st.table_full}};
}

}  // namespace

nlohmann::json build_status(const StatusInputs& in) {
  using nlohmann::json;
  auto now = blockxport::Clock::now();
  const auto& link = in.link;
  const auto& w = link.writer().stats();
  const auto& peer = link.peer();
  const auto& sb = link.send_superblock();

  json flushes = {{keys::kFull, w.flushes[0]},
                  {keys::kIdle, w.flushes[1]},
                  {keys::kSlotFreed, w.flushes[2]},
                  {keys::kDeadline, w.flushes[3]},
                  {keys::kForced, w.flushes[4]}};
  uint64_t acked = link.least_ack();  // the pair's one peer, or the slowest live reader of a shared LUN
  uint64_t written_head = link.writer().durable_head();
  json writer = {
      {keys::kEpoch, fmt::format("{:016x}", link.epoch())},
      {keys::kNextSequence, link.writer().next_sequence()},
      {keys::kDurableHead, written_head},
      {keys::kAckedByPeer, acked},
      {keys::kRingBlocks, sb.ring_blocks},
      {keys::kRingOccupancy, acked == 0 || acked >= written_head ? 0 : written_head - 1 - acked},
      {keys::kFrames, w.frames_sent},
      {keys::kBytes, w.payload_bytes_sent},
      {keys::kBlocks, w.blocks_written},
      {keys::kVolumeBytes, w.volume_bytes_written},
      {keys::kPaddingAmplification, ratio(w.volume_bytes_written, w.payload_bytes_written)},
      {keys::kBlockFillRatio,
       ratio(w.payload_bytes_written, w.blocks_written * (sb.block_size - blockxport::kBlockHeaderBytes))},
      {keys::kFlushReasons, flushes},
      {keys::kWriteErrors, w.write_errors},
      {keys::kWriteLatency, latency_json(w.write_latency)},
  };

  json reader = nullptr;
  json drops = {
      {keys::kTxRingFull, w.frames_dropped_ring_full},         {keys::kTxTooBig, w.frames_dropped_too_big},
      {keys::kRxAdminDown, in.counters.rx_dropped_admin_down}, {keys::kRxTapRejected, in.tap.stats().tx_dropped},
      {keys::kTxTapTruncated, in.tap.stats().rx_truncated},
  };
  // Frames the kernel dropped at the interface (its queue was full because we had not read it in
  // time, or it refused what we wrote): ours to show, as a NIC's driver shows its ring overruns.
  if (in.kernel_link) {
    drops[keys::kTxTapQueueFull] = in.kernel_link->tx_dropped;
    drops[keys::kRxKernelDropped] = in.kernel_link->rx_dropped;
  }
  // A shared LUN has a reader per peer slot: the totals here, each peer's own under "peers".
  if (auto total = link.reader_totals()) {
    const auto& rs = *total;
    const auto* r = link.shared() ? nullptr : link.reader();
    reader = {
        {keys::kAttached, r ? r->attached() : link.any_peer_alive()},
        {keys::kEpoch, r ? json(fmt::format("{:016x}", r->epoch())) : json(nullptr)},
        {keys::kNextSequence, r ? json(r->next_sequence()) : json(nullptr)},
    {keys::kFrames, rs.frames_delivered},
        {keys::kBytes, rs.bytes_delivered},
        {keys::kBlocks, rs.blocks_delivered},
        {keys::kReads, rs.reads},
        {keys::kVolumeBytesRead, rs.volume_bytes_read},
        {keys::kEmptyPolls, rs.empty_polls},
        {keys::kCrcRereads, rs.torn_rereads},
        {keys::kCorruptBlocks, rs.corrupt_blocks},
        {keys::kMalformedBlocks, rs.malformed_blocks},
        {keys::kMissingBlocks, rs.missing_blocks},
        {keys::kUnreadableBlocks, rs.unreadable_blocks},
        {keys::kLappedResyncs, rs.lapped_resyncs},
        {keys::kBlocksLostLapped, rs.blocks_lost_lapped},
        {keys::kEpochChanges, rs.epoch_changes},
        {keys::kRestartSkippedBlocks, rs.restart_skipped_blocks},
        {keys::kStaleEpochBlocks, rs.stale_epoch_blocks},
        {keys::kSkippedOnAttach, rs.skipped_on_attach},
        {keys::kReadErrors, rs.read_errors},
        {keys::kAuthFailedBlocks, rs.auth_failed_blocks},
        {keys::kAuthNoKeyBlocks, rs.auth_no_key_blocks},
        {keys::kBlocksNotForUs, rs.blocks_not_for_us},
        {keys::kPayloadReadsSaved, rs.payload_reads_saved},
        {keys::kDeliveryAge, latency_json(rs.delivery_age)},
    };
    drops[keys::kRxTooOld] = rs.too_old_frames;
    drops[keys::kRxPartialFrames] = rs.dropped_partial_frames;
    drops[keys::kRxCorruptBlocks] = rs.corrupt_blocks + rs.malformed_blocks;
    drops[keys::kRxLostBlocks] = rs.blocks_lost_lapped + rs.missing_blocks;
  }

  json peer_json = {
      {keys::kState, std::string(blockxport::peer_state_name(peer.state()))},
      {keys::kSinceMs, ms_since(peer.since(), now)},
  };
  if (const auto& rec = peer.last_record()) {
    peer_json[keys::kEpoch] = fmt::format("{:016x}", rec->epoch);
    peer_json[keys::kHeartbeat] = rec->heartbeat;
    peer_json[keys::kHead] = rec->head_sequence;
  }
  if (link.shared()) {
    // The segment: "alive" while any peer is (what the carrier follows).
    peer_json = {{keys::kState, link.any_peer_alive() ? "alive" : "dead"},
                 {keys::kSinceMs, ms_since(in.counters.carrier_since, now)},
                 {keys::kAlivePeers, std::count_if(link.peers().begin(), link.peers().end(),
                                                   [](const auto& p) { return p.monitor.alive(); })}};
  }
  const auto& tap = in.tap.stats();
  return {
      {keys::kInterface,
       {{keys::kName, in.config.ifname},
        {keys::kIfindex, in.tap.ifindex()},
        {keys::kAdminUp, in.admin_up},
        {keys::kCarrier, in.carrier},
        {keys::kCarrierSinceMs, ms_since(in.counters.carrier_since, now)},
        {keys::kOffloads, in.tap.offloads().to_string()},
        {keys::kReattached, in.tap.reattached()},
        {keys::kKeepInterface, in.config.keep_interface},
        {keys::kTxQueueLen, in.kernel_link ? nlohmann::json(in.kernel_link->tx_queue_len) : nlohmann::json(nullptr)},
        {keys::kTap,
         {{keys::kFromKernelFrames, tap.rx_frames},
          {keys::kFromKernelBytes, tap.rx_bytes},
          {keys::kToKernelFrames, tap.tx_frames},
          {keys::kToKernelBytes, tap.tx_bytes}}}}},
      {keys::kVolumes,
       {{keys::kSend, in.config.send_path},
        {keys::kRecv, in.config.recv_path},
        {keys::kVolume, in.config.volume},
        {keys::kSlotCount, sb.slot_count},
        {keys::kEngine, std::string(link.engine_name())},
        {keys::kBlockSize, sb.block_size},
        {keys::kBacking, link.send_volume().backing_description()}}},
      {keys::kUptimeS, ms_since(in.started_at, now) / 1000.0},
      {keys::kTimeUnixMs, unix_ms_now()},
      // Scheduling and memory lock in force (what was asked for, and what the kernel granted).
      {keys::kProcess, realtime_status(in.config, in.realtime)},
      // The timers in force (after any SIGHUP), so tools judge figures against the real settings.
      {keys::kConfig,
       {{keys::kHeartbeatIntervalMs, in.config.heartbeat_interval_ms},
        {keys::kDeadAfterMs, in.config.dead_after_ms},
        {keys::kMaxFrameAgeMs, in.config.max_frame_age_ms},
        {keys::kFlushDeadlineUs, in.config.flush_deadline_us},
        {keys::kPollSpinUs, in.config.poll_spin_us},
        {keys::kPollMaxIntervalUs, in.config.poll_max_interval_us},
        {keys::kPollParkMs, in.config.effective_poll_park_ms()},
        {keys::kTornTimeoutMs, in.config.torn_timeout_ms},
        {keys::kQueueDepth, in.config.queue_depth}}},
      {keys::kMode, link.shared() ? "shared" : "pair"},
      {keys::kSlot, link.own_slot()},
      {keys::kNodeName, link.shared() ? json(in.config.effective_node_name()) : json(nullptr)},
      {keys::kPeer, peer_json},
      {keys::kPeers, peers_json(link, now)},
      {keys::kLearning, learning_json(in.learning)},
      {keys::kAuth, auth_json(link.keys())},
      {keys::kTx, writer},
      {keys::kRx, reader},
      {keys::kDrops, drops},
      {keys::kCounters,
       {{keys::kCarrierChanges, in.counters.carrier_changes},
        {keys::kTxBackpressureWaits, in.counters.tx_backpressure_waits},
        {keys::kReloads, in.reloads},
        {keys::kStateWrites, link.stats().state_writes},
        {keys::kStateReads, link.stats().state_reads},
        {keys::kStateUnreadable, link.stats().state_unreadable},
        {keys::kStateAuthFailed, link.stats().state_auth_failed},
        {keys::kStateUnconfirmed, link.stats().state_unconfirmed},
        {keys::kPeersLapped, link.stats().peers_lapped}}},
  };
}

}  // namespace vnicd
