#include "daemon/datapath.h"

#include <spdlog/spdlog.h>

namespace vnicd {
namespace {

using blockxport::Clock;
using blockxport::Nanos;
using blockxport::TimePoint;

constexpr size_t kDeviceBatch = 64;

}  // namespace

Datapath::Datapath(vnic::FrameDevice& device, blockxport::Link& link)
    : device_(device), link_(link), tx_batch_(kDeviceBatch) {
  counters_.carrier_since = Clock::now();
  // A block holds fewer frames than bytes: delivering one never allocates.
  rx_frames_.reserve(link_.send_superblock().block_size);
}

void Datapath::deliver(std::span<const blockxport::FrameSpan> frames, const blockxport::BlockHeader& block) {
  if (link_.shared()) {
    auto now = Clock::now();
    for (auto f : frames)
      if (f.size() > vnic::kVnetHeaderBytes)
        learning_.learn(f.subspan(vnic::kVnetHeaderBytes), block.slot, block.epoch, now);
  }
  if (!admin_up_) {
    counters_.rx_dropped_admin_down += frames.size();  // a NIC that is down takes nothing in
    return;
  }
  rx_frames_.clear();
  for (auto f : frames) {
    // The device only reads these bytes; Frame wants a mutable slot because it also serves reads.
    vnic::Frame frame(const_cast<std::byte*>(f.data()), f.size());
    frame.set_length(f.size());
    rx_frames_.push_back(frame);
  }
  std::span<const vnic::Frame> pending(rx_frames_);
  // A TAP takes frames into the stack at once; EAGAIN here is the kernel's backlog being full,
  // and the frames it refuses are counted by the device as dropped.
  for (int attempt = 0; attempt < 3 && !pending.empty(); ++attempt) {
    auto result = device_.write_batch(pending);
    pending = pending.subspan(result.consumed());
  }
}

void Datapath::pump_device_to_link(TimePoint now) {
  for (int round = 0; round < 16; ++round) {
    if (tx_batch_.empty()) {
      if (!device_readable_ || !reading_) return;
      if (device_.read_batch(tx_batch_) == 0) {
        device_readable_ = false;
        return;
      }
    }
    tx_views_.clear();
    tx_destinations_.clear();
    for (const auto& frame : tx_batch_.frames()) tx_views_.push_back(frame.bytes());
    if (link_.shared()) {
      DestinationLearning::LiveEpochs live{};
      for (const auto& p : link_.peers())
        if (p.monitor.alive() && p.monitor.last_record()) live[p.slot] = p.monitor.last_record()->epoch;
      for (const auto& frame : tx_batch_.frames())
        tx_destinations_.push_back(learning_.destinations(frame.ethernet(), live, now));
    }
    size_t taken = link_.send(tx_views_, now, tx_destinations_);
    tx_batch_.consume_front(taken);
    if (!tx_batch_.empty()) {
      ++counters_.tx_backpressure_waits;  // every block buffer busy: wait for a write to finish
      return;
    }
  }
}

void Datapath::turn(TimePoint now) {
  link_.run_once(*this, Nanos{0});
  pump_device_to_link(now);
}

bool Datapath::peer_reachable() const { return link_.any_peer_alive(); }

bool Datapath::follow_peer() {
  bool want = peer_reachable();
  if (want == carrier_) return false;
  device_.set_carrier(want);
  carrier_ = want;
  ++counters_.carrier_changes;
  counters_.carrier_since = Clock::now();
  spdlog::info("{}: carrier {}", device_.name(), want ? "on" : "off");
  return true;
}

void Datapath::stop(Nanos drain_for) {
  reading_ = false;
  // Frames already read from the device are still ours to send; then the clean stop.
  auto deadline = Clock::now() + drain_for;
  while (holding_frames() && Clock::now() < deadline) {
    pump_device_to_link(Clock::now());
    link_.run_once(*this, std::chrono::milliseconds(1));
  }
  link_.stop();
  device_.set_carrier(false);
  carrier_ = false;
}

}  // namespace vnicd
