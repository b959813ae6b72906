// The keys of vnicd's status reply (the control socket's {"command":"status"}, `vnicctl status
// --json`), named once: the daemon builds the reply with these and vnicctl reads it with them, so
// renaming one changes both sides and they cannot drift apart. The scripts and tests that read
// the JSON (jq, python) spell the strings out.
#pragma once

#include <string_view>

namespace vnic_control::keys {

inline constexpr std::string_view kAcceptKeyId = "accept_key_id";
inline constexpr std::string_view kAckedByPeer = "acked_by_peer";
inline constexpr std::string_view kAdminUp = "admin_up";
inline constexpr std::string_view kAttached = "attached";
inline constexpr std::string_view kAuth = "auth";
inline constexpr std::string_view kAuthFailedBlocks = "auth_failed_blocks";
inline constexpr std::string_view kAuthNoKeyBlocks = "auth_no_key_blocks";
inline constexpr std::string_view kBacking = "backing";
inline constexpr std::string_view kBlockFillRatio = "block_fill_ratio";
inline constexpr std::string_view kBlockSize = "block_size";
inline constexpr std::string_view kBlocks = "blocks";
inline constexpr std::string_view kBlocksLostLapped = "blocks_lost_lapped";
inline constexpr std::string_view kBytes = "bytes";
inline constexpr std::string_view kCarrier = "carrier";
inline constexpr std::string_view kCarrierChanges = "carrier_changes";
inline constexpr std::string_view kConfig = "config";
inline constexpr std::string_view kCorruptBlocks = "corrupt_blocks";
inline constexpr std::string_view kCount = "count";
inline constexpr std::string_view kCounters = "counters";
inline constexpr std::string_view kCrcRereads = "crc_rereads";
inline constexpr std::string_view kDeadAfterMs = "dead_after_ms";
inline constexpr std::string_view kDeadline = "deadline";
inline constexpr std::string_view kDeliveryAge = "delivery_age";
inline constexpr std::string_view kDrops = "drops";
inline constexpr std::string_view kDurableHead = "durable_head";
inline constexpr std::string_view kEmptyPolls = "empty_polls";
inline constexpr std::string_view kEnabled = "enabled";
inline constexpr std::string_view kEncrypt = "encrypt";
inline constexpr std::string_view kEngine = "engine";
inline constexpr std::string_view kEpoch = "epoch";
inline constexpr std::string_view kEpochChanges = "epoch_changes";
inline constexpr std::string_view kFlushDeadlineUs = "flush_deadline_us";
inline constexpr std::string_view kFlushReasons = "flush_reasons";
inline constexpr std::string_view kForced = "forced";
inline constexpr std::string_view kFrames = "frames";
inline constexpr std::string_view kFromKernelBytes = "from_kernel_bytes";
inline constexpr std::string_view kFromKernelFrames = "from_kernel_frames";
inline constexpr std::string_view kFull = "full";
inline constexpr std::string_view kHead = "head";
inline constexpr std::string_view kHeartbeat = "heartbeat";
inline constexpr std::string_view kHeartbeatIntervalMs = "heartbeat_interval_ms";
inline constexpr std::string_view kIdle = "idle";
inline constexpr std::string_view kIfindex = "ifindex";
inline constexpr std::string_view kInterface = "interface";
inline constexpr std::string_view kKeepInterface = "keep_interface";
inline constexpr std::string_view kKeyId = "key_id";
inline constexpr std::string_view kLappedResyncs = "lapped_resyncs";
inline constexpr std::string_view kLockMemory = "lock_memory";
inline constexpr std::string_view kMalformedBlocks = "malformed_blocks";
inline constexpr std::string_view kMaxFrameAgeMs = "max_frame_age_ms";
inline constexpr std::string_view kMaxUs = "max_us";
inline constexpr std::string_view kMemoryLocked = "memory_locked";
inline constexpr std::string_view kMissingBlocks = "missing_blocks";
inline constexpr std::string_view kName = "name";
inline constexpr std::string_view kNextSequence = "next_sequence";
inline constexpr std::string_view kOffloads = "offloads";
inline constexpr std::string_view kP50Us = "p50_us";
inline constexpr std::string_view kP90Us = "p90_us";
inline constexpr std::string_view kP999Us = "p999_us";
inline constexpr std::string_view kP99Us = "p99_us";
inline constexpr std::string_view kPaddingAmplification = "padding_amplification";
inline constexpr std::string_view kPeer = "peer";
inline constexpr std::string_view kPollMaxIntervalUs = "poll_max_interval_us";
inline constexpr std::string_view kPollSpinUs = "poll_spin_us";
inline constexpr std::string_view kPriority = "priority";
inline constexpr std::string_view kProcess = "process";
inline constexpr std::string_view kQueueDepth = "queue_depth";
inline constexpr std::string_view kReadErrors = "read_errors";
inline constexpr std::string_view kReads = "reads";
inline constexpr std::string_view kRealtime = "realtime";
inline constexpr std::string_view kReattached = "reattached";
inline constexpr std::string_view kRecv = "recv";
inline constexpr std::string_view kReloads = "reloads";
inline constexpr std::string_view kRestartSkippedBlocks = "restart_skipped_blocks";
inline constexpr std::string_view kRingBlocks = "ring_blocks";
inline constexpr std::string_view kRingOccupancy = "ring_occupancy";
inline constexpr std::string_view kRx = "rx";
inline constexpr std::string_view kRxAdminDown = "rx_admin_down";
inline constexpr std::string_view kRxCorruptBlocks = "rx_corrupt_blocks";
inline constexpr std::string_view kRxKernelDropped = "rx_kernel_dropped";
inline constexpr std::string_view kRxLostBlocks = "rx_lost_blocks";
inline constexpr std::string_view kRxPartialFrames = "rx_partial_frames";
inline constexpr std::string_view kRxTapRejected = "rx_tap_rejected";
inline constexpr std::string_view kRxTooOld = "rx_too_old";
inline constexpr std::string_view kScheduling = "scheduling";
inline constexpr std::string_view kSchedulingPriority = "scheduling_priority";
inline constexpr std::string_view kSend = "send";
inline constexpr std::string_view kSinceMs = "since_ms";
inline constexpr std::string_view kSkippedOnAttach = "skipped_on_attach";
inline constexpr std::string_view kSlotFreed = "slot_freed";
inline constexpr std::string_view kStaleEpochBlocks = "stale_epoch_blocks";
inline constexpr std::string_view kState = "state";
inline constexpr std::string_view kStateAuthFailed = "state_auth_failed";
inline constexpr std::string_view kStateReads = "state_reads";
inline constexpr std::string_view kStateUnconfirmed = "state_unconfirmed";
inline constexpr std::string_view kStateUnreadable = "state_unreadable";
inline constexpr std::string_view kStateWrites = "state_writes";
inline constexpr std::string_view kTap = "tap";
inline constexpr std::string_view kToKernelBytes = "to_kernel_bytes";
inline constexpr std::string_view kToKernelFrames = "to_kernel_frames";
inline constexpr std::string_view kTornTimeoutMs = "torn_timeout_ms";
inline constexpr std::string_view kTx = "tx";
inline constexpr std::string_view kTxBackpressureWaits = "tx_backpressure_waits";
inline constexpr std::string_view kTxQueueLen = "tx_queue_len";
inline constexpr std::string_view kTxRingFull = "tx_ring_full";
inline constexpr std::string_view kTxTapQueueFull = "tx_tap_queue_full";
inline constexpr std::string_view kTxTapTruncated = "tx_tap_truncated";
inline constexpr std::string_view kTxTooBig = "tx_too_big";
inline constexpr std::string_view kUnreadableBlocks = "unreadable_blocks";
inline constexpr std::string_view kUptimeS = "uptime_s";
inline constexpr std::string_view kVolumeBytes = "volume_bytes";
inline constexpr std::string_view kVolumeBytesRead = "volume_bytes_read";
inline constexpr std::string_view kVolumes = "volumes";
inline constexpr std::string_view kWriteErrors = "write_errors";
inline constexpr std::string_view kWriteLatency = "write_latency";

// Shared-LUN mode (issue 10): the node's slot and name, and one entry per other slot in "peers"
// (each with "state", "since_ms", "owner", "ifname", "epoch", "heartbeat", "head" and "rx").
inline constexpr std::string_view kMode = "mode";
inline constexpr std::string_view kSlot = "slot";
inline constexpr std::string_view kNodeName = "node_name";
inline constexpr std::string_view kPeers = "peers";
inline constexpr std::string_view kOwner = "owner";
inline constexpr std::string_view kIfname = "ifname";
inline constexpr std::string_view kVolume = "volume";
inline constexpr std::string_view kSlotCount = "slot_count";
inline constexpr std::string_view kAlivePeers = "alive_peers";
inline constexpr std::string_view kAcked = "acked";
inline constexpr std::string_view kLappedOut = "lapped_out";
inline constexpr std::string_view kLostBlocks = "lost_blocks";
inline constexpr std::string_view kTooOldFrames = "too_old_frames";
inline constexpr std::string_view kPartialFrames = "partial_frames";
inline constexpr std::string_view kPeersLapped = "peers_lapped";

}  // namespace vnic_control::keys
