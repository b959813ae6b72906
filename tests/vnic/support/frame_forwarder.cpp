#include "tests/vnic/support/frame_forwarder.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <stdexcept>

namespace vnic::test {

namespace {

constexpr std::size_t kBatchSlots = 64;

void record_max(std::atomic<std::uint64_t>& slot, std::uint64_t value) {
    std::uint64_t seen = slot.load(std::memory_order_relaxed);
    while (value > seen && !slot.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
    }
}

void forward(FrameDevice& from, FrameDevice& to, FrameBatch& batch, DirectionStats& stats) {
    batch.clear();
    if (from.read_batch(batch) == 0) {
        return;
    }
    for (const Frame& frame : batch.frames()) {
        stats.frames.fetch_add(1, std::memory_order_relaxed);
        stats.ethernet_bytes.fetch_add(frame.ethernet().size(), std::memory_order_relaxed);
        const VnetHeader header = frame.vnet_header();
        if (header.is_gso()) {
            stats.gso_frames.fetch_add(1, std::memory_order_relaxed);
        }
        if ((header.gso_type & ~VnetHeader::kGsoEcn) == VnetHeader::kGsoUdpL4) {
            stats.udp_gso_frames.fetch_add(1, std::memory_order_relaxed);
        }
        record_max(stats.largest_frame, frame.ethernet().size());
    }
    const WriteResult result = to.write_batch(batch);
    stats.dropped.fetch_add(result.dropped, std::memory_order_relaxed);
    // A TAP write never blocks in practice; if one did, drop like a full NIC
    // ring rather than stall the other direction.
    stats.unwritten.fetch_add(batch.size() - result.consumed(), std::memory_order_relaxed);
}

}  // namespace

FrameForwarder::FrameForwarder(FrameDevice& a, FrameDevice& b)
    : a_(a), b_(b), stop_event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!stop_event_) {
        throw std::runtime_error("eventfd failed");
    }
    thread_ = std::thread([this] { run(); });
}

FrameForwarder::~FrameForwarder() {
    stop();
}

void FrameForwarder::stop() {
    if (!thread_.joinable()) {
        return;
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(stop_event_.get(), &one, sizeof one);
    thread_.join();
}

void FrameForwarder::run() {
    try {
        run_loop();
    } catch (const std::exception& e) {
        failure_ = e.what();
    }
}

void FrameForwarder::run_loop() {
    const UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
    enum : std::uint64_t { kFromA, kFromB, kStop };
    const std::array<std::pair<int, std::uint64_t>, 3> watched{
        {{a_.fd(), kFromA}, {b_.fd(), kFromB}, {stop_event_.get(), kStop}}};
    for (const auto& [fd, tag] : watched) {
        epoll_event interest{};
        interest.events = EPOLLIN;
        interest.data.u64 = tag;
        if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &interest) != 0) {
            throw std::runtime_error("FrameForwarder: epoll_ctl failed");
        }
    }
    // Allocated once; the loop below never allocates.
    FrameBatch from_a(kBatchSlots);
    FrameBatch from_b(kBatchSlots);
    std::array<epoll_event, 3> ready{};
    for (;;) {
        const int count =
            ::epoll_wait(epoll.get(), ready.data(), static_cast<int>(ready.size()), 1000);
        if (count < 0 && errno != EINTR) {
            throw std::runtime_error("FrameForwarder: epoll_wait failed");
        }
        for (int i = 0; i < count; ++i) {
            switch (ready[static_cast<std::size_t>(i)].data.u64) {
            case kFromA: forward(a_, b_, from_a, a_to_b_); break;
            case kFromB: forward(b_, a_, from_b, b_to_a_); break;
            case kStop: return;
            }
        }
    }
}

}  // namespace vnic::test
