#pragma once

#include "vnic/frame_batch.h"
#include "vnic/offloads.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace vnic {

struct WriteResult {
  std::size_t written = 0;  // accepted by the device
  std::size_t dropped = 0;  // rejected (malformed, or link admin down): counted, not retried
  // Frames handled from the front of the span; the caller resumes after these.
  std::size_t consumed() const { return written + dropped; }
};

// Running totals since the device was opened. Kept by the data-path thread:
// read them from that thread, or after it has stopped.
struct FrameDeviceStats {
  std::uint64_t rx_frames = 0;     // read from the device
  std::uint64_t rx_bytes = 0;      // Ethernet bytes, headers excluded
  std::uint64_t rx_truncated = 0;  // larger than the slot: lost, not delivered
  std::uint64_t tx_frames = 0;     // written to the device
  std::uint64_t tx_bytes = 0;
  std::uint64_t tx_dropped = 0;  // rejected by the device
};

// A NIC seen as a queue of Ethernet frames, each carrying a virtio-net header
// (see vnet_header.h), moved in batches. Modelled on wireguard-go's tun.Device
// so that a TAP today and an in-kernel shim later are interchangeable behind
// the daemon's epoll loop.
class FrameDevice {
 public:
  virtual ~FrameDevice() = default;

  // Appends to `batch` the frames that are ready now, without blocking,
  // until none is left or the batch is full. Returns how many were appended.
  virtual std::size_t read_batch(FrameBatch& batch) = 0;

  // Writes frames in order without blocking. Stops early only when the
  // device cannot take more right now (EAGAIN); the caller resumes at
  // result.consumed(). A frame the device rejects is dropped and counted.
  virtual WriteResult write_batch(std::span<const Frame> frames) = 0;
  WriteResult write_batch(const FrameBatch& batch) { return write_batch(batch.frames()); }

  // Readable when read_batch() has frames; writable when write_batch() can
  // make progress. Owned by the device.
  virtual int fd() const = 0;

  // Link carrier as the kernel sees it: without carrier the stack neither
  // sends nor expects traffic, like a NIC with its cable pulled.
  virtual void set_carrier(bool up) = 0;

  virtual const std::string& name() const = 0;
  // What kinds of GSO/partial-checksum frames read_batch() may return.
  virtual Offloads offloads() const = 0;
  virtual FrameDeviceStats stats() const = 0;
};

}  // namespace vnic
