#pragma once

#include "vnic/vnet_header.h"

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace vnic {

// Largest Ethernet frame a TAP can hand over: a 64 KiB GSO super-frame
// (IP total length is 16 bits) plus the Ethernet header and one 802.1Q tag.
inline constexpr std::size_t kMaxEthernetFrameBytes = 65535 + 14 + 4;
// A slot that can hold anything a TAP produces, header included.
inline constexpr std::size_t kMaxFrameSlotBytes = kVnetHeaderBytes + kMaxEthernetFrameBytes;

// One slot of a FrameBatch: the virtio-net header immediately followed by the
// Ethernet frame, contiguous so one read() or write() moves both. A Frame does
// not own its bytes: usually a FrameBatch does, but a Frame may also wrap a
// caller's buffer (construct, then set_length) to write it without a copy;
// write_batch only reads through it.
class Frame {
 public:
  Frame() = default;
  Frame(std::byte* slot, std::size_t capacity) : slot_(slot), capacity_(capacity) {}

  // Header + Ethernet frame, exactly as the device reads and writes it.
  std::span<std::byte> bytes() { return {slot_, length_}; }
  std::span<const std::byte> bytes() const { return {slot_, length_}; }
  std::size_t length() const { return length_; }
  std::size_t capacity() const { return capacity_; }

  // The whole slot, for filling in place; follow with set_length().
  std::span<std::byte> slot() { return {slot_, capacity_}; }
  // Throws std::length_error beyond capacity().
  void set_length(std::size_t length);

  // The Ethernet frame after the header (empty if the frame is shorter than a header).
  std::span<std::byte> ethernet();
  std::span<const std::byte> ethernet() const;

  // Reads the header; a frame shorter than a header reads as all-zero.
  VnetHeader vnet_header() const;
  // Writes the header in place. The frame must have room for one.
  void set_vnet_header(const VnetHeader& header);

  // Fills the slot with a header and a copy of an Ethernet frame: for
  // frames built by hand (control packets, tests), not for forwarding.
  void assign(const VnetHeader& header, std::span<const std::byte> ethernet_frame);

 private:
  std::byte* slot_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t length_ = 0;
};

// A fixed set of preallocated frame slots, allocated once at construction so
// the data path never allocates. frames() are the filled slots [0, size());
// the rest are free. Dropping consumed frames moves slot descriptors, never
// frame bytes.
class FrameBatch {
 public:
  // Throws std::invalid_argument for zero slots or slots too small for a
  // header plus an Ethernet header. Smaller-than-default slots save memory
  // when offloads are off and the MTU is known, but a frame that does not
  // fit is dropped by the reader (and counted).
  explicit FrameBatch(std::size_t slot_count, std::size_t slot_bytes = kMaxFrameSlotBytes);

  std::size_t slot_count() const { return slots_.size(); }
  std::size_t slot_bytes() const { return slot_bytes_; }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool full() const { return size_ == slots_.size(); }

  std::span<Frame> frames() { return {slots_.data(), size_}; }
  std::span<const Frame> frames() const { return {slots_.data(), size_}; }
  Frame& operator[](std::size_t index) { return slots_[index]; }
  const Frame& operator[](std::size_t index) const { return slots_[index]; }

  // Slots not yet holding a frame; fill some from the front, then commit().
  std::span<Frame> free_slots() { return {slots_.data() + size_, slots_.size() - size_}; }
  // The first `count` free slots now hold frames.
  void commit(std::size_t count);
  // Next free slot, emptied and committed; throws std::length_error when full.
  Frame& append();

  void clear() { size_ = 0; }
  // Forgets the first `count` frames (e.g. those a partial write_batch
  // consumed) while keeping the rest in order; O(slot_count) descriptor moves.
  void consume_front(std::size_t count);

 private:
  std::size_t slot_bytes_;
  std::unique_ptr<std::byte[]> storage_;
  std::vector<Frame> slots_;
  std::size_t size_ = 0;
};

}  // namespace vnic
