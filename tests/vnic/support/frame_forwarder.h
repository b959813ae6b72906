#pragma once

#include "vnic/frame_device.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "vnic/unique_fd.h"

namespace vnic::test {

struct DirectionStats {
  std::atomic<std::uint64_t> frames{0};
  std::atomic<std::uint64_t> ethernet_bytes{0};
  std::atomic<std::uint64_t> gso_frames{0};      // vnet header gso_type != NONE
  std::atomic<std::uint64_t> udp_gso_frames{0};  // ... == UDP_L4 (USO)
  std::atomic<std::uint64_t> largest_frame{0};   // Ethernet bytes, header excluded
  std::atomic<std::uint64_t> dropped{0};         // rejected by the destination
  std::atomic<std::uint64_t> unwritten{0};       // destination would block: dropped here
};

// What vnicd does with storage in between: moves frames A->B and B->A with
// read_batch/write_batch on one epoll thread, passing virtio-net headers
// through untouched so GSO super-frames stay whole end to end.
class FrameForwarder {
 public:
  FrameForwarder(FrameDevice& a, FrameDevice& b);
  ~FrameForwarder();
  FrameForwarder(const FrameForwarder&) = delete;
  FrameForwarder& operator=(const FrameForwarder&) = delete;

  // Idempotent. Afterwards failure() tells whether the loop died early.
  void stop();
  std::string failure() const { return failure_; }

  const DirectionStats& a_to_b() const { return a_to_b_; }
  const DirectionStats& b_to_a() const { return b_to_a_; }

 private:
  void run();
  void run_loop();

  FrameDevice& a_;
  FrameDevice& b_;
  DirectionStats a_to_b_;
  DirectionStats b_to_a_;
  UniqueFd stop_event_;
  std::string failure_;  // written by the thread, read after join
  std::thread thread_;
};

}  // namespace vnic::test
