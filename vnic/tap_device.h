#pragma once

#include "vnic/frame_device.h"
#include "vnic/unique_fd.h"

#include <optional>
#include <string>

namespace vnic {

struct TapOptions {
  // Must not exist yet in the calling thread's network namespace, unless `persistent` and it is a
  // persistent TAP left by an earlier TapDevice (see below).
  std::string name = "vnic0";
  // Negotiate checksum/TSO/USO offloads with the kernel when it accepts them.
  // Off: every frame is complete and at most MTU + Ethernet header long.
  bool offload = true;
  // Frames the kernel queues for a slow reader before dropping; unset keeps
  // the kernel's default (1000). Shorter bounds how stale a queued heartbeat
  // can get when the transport stalls.
  std::optional<unsigned> tx_queue_len = std::nullopt;
  // Persistent: the interface outlives the process, as a NIC outlives its driver's restart. A
  // killed owner leaves it in place without carrier (no queue attached), with its addresses,
  // routes and MTU; the next TapDevice of that name re-attaches to it. Only a persistent TAP
  // marked as ours (kTapAlias) is taken over; any other interface of that name is refused.
  bool persistent = false;
};

// The alias (`ip link` shows it) that marks a persistent TAP as made by a TapDevice.
inline constexpr const char* kTapAlias = "vnicd: fallback NIC over shared storage";

// A TAP interface in the calling thread's network namespace, with no carrier. Non-persistent,
// it exists exactly as long as this object (its fd). Persistent, it stays when the object goes
// only once keep_on_close(true) said so; until then, an interface this object created is removed
// with it, including when construction fails halfway, while one it re-attached to always stays.
// A kill -9 leaves a persistent interface in place either way.
class TapDevice final : public FrameDevice {
 public:
  // Throws vnic::Error, e.g. "vnic0: interface name already in use".
  explicit TapDevice(const TapOptions& options);
  ~TapDevice() override;

  TapDevice(TapDevice&&) noexcept;
  TapDevice& operator=(TapDevice&&) noexcept;

  using FrameDevice::write_batch;
  std::size_t read_batch(FrameBatch& batch) override;
  WriteResult write_batch(std::span<const Frame> frames) override;
  int fd() const override { return fd_.get(); }
  void set_carrier(bool up) override;
  const std::string& name() const override { return name_; }
  Offloads offloads() const override { return offloads_; }
  FrameDeviceStats stats() const override { return stats_; }

  int ifindex() const { return ifindex_; }
  bool persistent() const { return persistent_; }
  // The interface existed (left by an earlier owner) and this object re-attached to it.
  bool reattached() const { return reattached_; }
  // Persistent only: whether the interface stays when this object goes (a clean stop).
  void keep_on_close(bool keep) { keep_ = keep; }

 private:
  void release() noexcept;

  UniqueFd fd_;
  std::string name_;
  int ifindex_ = 0;
  bool persistent_ = false;
  bool reattached_ = false;
  bool keep_ = false;
  Offloads offloads_;
  FrameDeviceStats stats_;
};

}  // namespace vnic
