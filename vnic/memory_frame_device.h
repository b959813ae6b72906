// A FrameDevice in memory, as wireguard-go's tuntest stands in for a TUN: what the test injects
// is what read_batch() returns (frames the stack would send), and what write_batch() is given is
// kept for the test to take (frames delivered to the stack). No interface and no root needed, so
// the daemon's data path can be tested on its own. Single-threaded, like the loop that drives it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "vnic/frame_device.h"
#include "vnic/unique_fd.h"

namespace vnic {

class MemoryFrameDevice final : public FrameDevice {
 public:
  // Throws vnic::Error if the eventfd cannot be made.
  explicit MemoryFrameDevice(std::string name = "mem0");

  using FrameDevice::write_batch;
  // Frames larger than a slot are dropped and counted in rx_truncated, as a TapDevice does.
  std::size_t read_batch(FrameBatch& batch) override;
  // Takes every frame (a memory device is never full).
  WriteResult write_batch(std::span<const Frame> frames) override;
  // An eventfd, readable exactly while injected frames wait for read_batch().
  int fd() const override { return event_fd_.get(); }
  void set_carrier(bool up) override;
  const std::string& name() const override { return name_; }
  Offloads offloads() const override { return {}; }
  FrameDeviceStats stats() const override { return stats_; }

  // The test's side. A frame is the virtio-net header followed by the Ethernet frame, as a TAP
  // reads and writes it.
  void inject(std::span<const std::byte> frame);
  std::size_t queued() const { return to_read_.size(); }
  // The frames written so far, in order; taking them empties the list.
  std::vector<std::vector<std::byte>> take_written();
  std::size_t written_count() const { return written_.size(); }
  // As last set; off until the first set_carrier(), like a new TapDevice.
  bool carrier() const { return carrier_; }
  std::uint64_t carrier_sets() const { return carrier_sets_; }

 private:
  void signal_readable();
  void clear_readable();

  std::string name_;
  UniqueFd event_fd_;
  std::deque<std::vector<std::byte>> to_read_;
  std::vector<std::vector<std::byte>> written_;
  bool carrier_ = false;
  std::uint64_t carrier_sets_ = 0;
  FrameDeviceStats stats_;
};

}  // namespace vnic
