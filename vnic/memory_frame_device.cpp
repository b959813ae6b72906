#include "vnic/memory_frame_device.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "vnic/error.h"
#include "vnic/vnet_header.h"

namespace vnic {
namespace {

std::uint64_t ethernet_bytes(std::size_t frame_bytes) {
  return frame_bytes > kVnetHeaderBytes ? frame_bytes - kVnetHeaderBytes : 0;
}

}  // namespace

MemoryFrameDevice::MemoryFrameDevice(std::string name)
    : name_(std::move(name)), event_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!event_fd_) throw_errno(name_, "eventfd", errno);
}

void MemoryFrameDevice::signal_readable() {
  std::uint64_t one = 1;
  if (::write(event_fd_.get(), &one, sizeof(one)) != sizeof(one)) throw_errno(name_, "eventfd write", errno);
}

void MemoryFrameDevice::clear_readable() {
  std::uint64_t count = 0;
  // EAGAIN: already clear.
  if (::read(event_fd_.get(), &count, sizeof(count)) < 0 && errno != EAGAIN) throw_errno(name_, "eventfd read", errno);
}

void MemoryFrameDevice::inject(std::span<const std::byte> frame) {
  if (to_read_.empty()) signal_readable();
  to_read_.emplace_back(frame.begin(), frame.end());
}

std::size_t MemoryFrameDevice::read_batch(FrameBatch& batch) {
  std::span<Frame> slots = batch.free_slots();
  std::size_t filled = 0;
  while (filled < slots.size() && !to_read_.empty()) {
    const std::vector<std::byte>& frame = to_read_.front();
    Frame& slot = slots[filled];
    if (frame.size() > slot.capacity()) {
      ++stats_.rx_truncated;
    } else {
      std::copy(frame.begin(), frame.end(), slot.slot().begin());
      slot.set_length(frame.size());
      ++filled;
      ++stats_.rx_frames;
      stats_.rx_bytes += ethernet_bytes(frame.size());
    }
    to_read_.pop_front();
  }
  batch.commit(filled);
  if (to_read_.empty()) clear_readable();
  return filled;
}

WriteResult MemoryFrameDevice::write_batch(std::span<const Frame> frames) {
  for (const Frame& frame : frames) {
    auto bytes = frame.bytes();
    written_.emplace_back(bytes.begin(), bytes.end());
    ++stats_.tx_frames;
    stats_.tx_bytes += ethernet_bytes(bytes.size());
  }
  return {frames.size(), 0};
}

void MemoryFrameDevice::set_carrier(bool up) {
  carrier_ = up;
  ++carrier_sets_;
}

std::vector<std::vector<std::byte>> MemoryFrameDevice::take_written() { return std::exchange(written_, {}); }

}  // namespace vnic
