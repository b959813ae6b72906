#include "vnic/frame_batch.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace vnic {

namespace {
constexpr std::size_t kEthernetHeaderBytes = 14;
}

void Frame::set_length(std::size_t length) {
  if (length > capacity_) {
    throw std::length_error(fmt::format("frame length {} exceeds slot capacity {}", length, capacity_));
  }
  length_ = length;
}

std::span<std::byte> Frame::ethernet() {
  return length_ < kVnetHeaderBytes ? std::span<std::byte>{} : bytes().subspan(kVnetHeaderBytes);
}

std::span<const std::byte> Frame::ethernet() const {
  return length_ < kVnetHeaderBytes ? std::span<const std::byte>{} : bytes().subspan(kVnetHeaderBytes);
}

VnetHeader Frame::vnet_header() const {
  if (length_ < kVnetHeaderBytes) {
    return {};
  }
  return VnetHeader::decode(bytes().first<kVnetHeaderBytes>());
}

void Frame::set_vnet_header(const VnetHeader& header) {
  if (capacity_ < kVnetHeaderBytes) {
    throw std::length_error("frame slot too small for a virtio-net header");
  }
  header.encode(slot().first<kVnetHeaderBytes>());
  length_ = std::max(length_, kVnetHeaderBytes);
}

void Frame::assign(const VnetHeader& header, std::span<const std::byte> ethernet_frame) {
  const std::size_t total = kVnetHeaderBytes + ethernet_frame.size();
  if (total > capacity_) {
    throw std::length_error(fmt::format("frame of {} bytes exceeds slot capacity {}", total, capacity_));
  }
  header.encode(slot().first<kVnetHeaderBytes>());
  if (!ethernet_frame.empty()) {
    std::memcpy(slot_ + kVnetHeaderBytes, ethernet_frame.data(), ethernet_frame.size());
  }
  length_ = total;
}

FrameBatch::FrameBatch(std::size_t slot_count, std::size_t slot_bytes) : slot_bytes_(slot_bytes) {
  if (slot_count == 0) {
    throw std::invalid_argument("FrameBatch needs at least one slot");
  }
  if (slot_bytes < kVnetHeaderBytes + kEthernetHeaderBytes) {
    throw std::invalid_argument(
        fmt::format("FrameBatch slot of {} bytes cannot hold a virtio-net and an Ethernet header", slot_bytes));
  }
  // Uninitialised on purpose: a 64-slot batch is 4 MiB that the kernel
  // overwrites anyway, and untouched pages cost no memory.
  storage_ = std::make_unique_for_overwrite<std::byte[]>(slot_count * slot_bytes);
  slots_.reserve(slot_count);
  for (std::size_t i = 0; i < slot_count; ++i) {
    slots_.emplace_back(storage_.get() + i * slot_bytes, slot_bytes);
  }
}

void FrameBatch::commit(std::size_t count) {
  if (count > slots_.size() - size_) {
    throw std::length_error(
        fmt::format("FrameBatch: committing {} frames with {} free slots", count, slots_.size() - size_));
  }
  size_ += count;
}

Frame& FrameBatch::append() {
  if (full()) {
    throw std::length_error("FrameBatch: append to a full batch");
  }
  Frame& frame = slots_[size_++];
  frame.set_length(0);
  return frame;
}

void FrameBatch::consume_front(std::size_t count) {
  count = std::min(count, size_);
  // Rotating the whole slot vector keeps every slot owned exactly once.
  std::rotate(slots_.begin(), slots_.begin() + static_cast<std::ptrdiff_t>(count), slots_.end());
  size_ -= count;
}

}  // namespace vnic
