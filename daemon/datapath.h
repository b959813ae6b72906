// vnicd's data path: frames from a FrameDevice into the link, frames from the link into the
// device, and the device's carrier following the peer. No TAP, netlink, socket or signal here:
// the Daemon creates those and drives this from its loop, and a test drives it with an in-memory
// device (vnic/memory_frame_device.h) without root.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "blockxport/clock.h"
#include "blockxport/link.h"
#include "daemon/destination_learning.h"
#include "vnic/frame_batch.h"
#include "vnic/frame_device.h"

namespace vnicd {

struct DatapathCounters {
  uint64_t rx_dropped_admin_down = 0;  // frames from the peer while the interface was down
  uint64_t tx_backpressure_waits = 0;  // device reads paused: every block buffer busy
  uint64_t carrier_changes = 0;
  blockxport::TimePoint carrier_since{};  // the last carrier change (or the start)
};

class Datapath : private blockxport::FrameSink {
 public:
  // Both must outlive the Datapath. The carrier starts off, as the device does.
  Datapath(vnic::FrameDevice& device, blockxport::Link& link);

  // One turn of the loop: the link's due work (delivering what it read into the device, without
  // waiting), then what the device has for the link, as far as the link takes it. A device that
  // fails (vnic::Error: the interface was deleted) throws out of here.
  void turn(blockxport::TimePoint now);
  // Sets the carrier from the peer's liveness. Returns whether it changed (logged once).
  bool follow_peer();

  // The device's fd became readable; the next turn() reads it.
  void on_device_readable() { device_readable_ = true; }
  // The interface's administrative state (from netlink): while down, frames from the peer are
  // dropped and counted, as a NIC that is switched off takes nothing in.
  void set_admin_up(bool up) { admin_up_ = up; }

  // Frames read from the device that the link has not taken yet (every block buffer was busy):
  // the loop must come back as soon as a write completes.
  bool holding_frames() const { return !tx_batch_.empty(); }
  // The clean stop: sends the frames already read (for up to `drain_for`) without reading more,
  // records the stop for the peer, and drops the carrier.
  void stop(blockxport::Nanos drain_for);

  bool carrier() const { return carrier_; }
  // A shared LUN's learned destinations (see destination_learning.h).
  const DestinationLearning& learning() const { return learning_; }
  bool admin_up() const { return admin_up_; }
  const DatapathCounters& counters() const { return counters_; }

 private:
  void deliver(std::span<const blockxport::FrameSpan> frames, const blockxport::BlockHeader& block) override;
  void pump_device_to_link(blockxport::TimePoint now);
  // Whether the carrier should be on: any peer alive and its blocks being read (a pair's one, or
  // any node of a shared LUN).
  bool peer_reachable() const;

  vnic::FrameDevice& device_;
  blockxport::Link& link_;
  vnic::FrameBatch tx_batch_;
  std::vector<blockxport::FrameSpan> tx_views_;
  std::vector<uint64_t> tx_destinations_;  // a shared LUN's: per frame of tx_views_
  DestinationLearning learning_;
  std::vector<vnic::Frame> rx_frames_;
  bool device_readable_ = false;
  bool reading_ = true;
  bool carrier_ = false;
  bool admin_up_ = false;
  DatapathCounters counters_;
};

}  // namespace vnicd
