#pragma once

#include "vnic/frame_device.h"
#include "vnic/unique_fd.h"

#include <optional>
#include <string>

namespace vnic {

struct TapOptions {
  // Must not exist yet in the calling thread's network namespace.
  std::string name = "vnic0";
  // Negotiate checksum/TSO/USO offloads with the kernel when it accepts them.
  // Off: every frame is complete and at most MTU + Ethernet header long.
  bool offload = true;
  // Frames the kernel queues for a slow reader before dropping; unset keeps
  // the kernel's default (1000). Shorter bounds how stale a queued heartbeat
  // can get when the transport stalls.
  std::optional<unsigned> tx_queue_len = std::nullopt;
};

// A TAP interface that exists exactly as long as this object: created
// non-persistent in the calling thread's network namespace, with no carrier,
// and removed by the kernel when the object (its fd) goes away, including
// when construction fails halfway.
class TapDevice final : public FrameDevice {
 public:
  // Throws vnic::Error, e.g. "vnic0: interface name already in use".
  explicit TapDevice(const TapOptions& options);

  TapDevice(TapDevice&&) noexcept = default;
  TapDevice& operator=(TapDevice&&) noexcept = default;

  using FrameDevice::write_batch;
  std::size_t read_batch(FrameBatch& batch) override;
  WriteResult write_batch(std::span<const Frame> frames) override;
  int fd() const override { return fd_.get(); }
  void set_carrier(bool up) override;
  const std::string& name() const override { return name_; }
  Offloads offloads() const override { return offloads_; }
  FrameDeviceStats stats() const override { return stats_; }

  int ifindex() const { return ifindex_; }

 private:
  UniqueFd fd_;
  std::string name_;
  int ifindex_ = 0;
  Offloads offloads_;
  FrameDeviceStats stats_;
};

}  // namespace vnic
