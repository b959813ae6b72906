// io_uring engine: one ring, one io_uring_submit per batch, completions peeked in bulk; the ring
// fd is what an epoll loop waits on.
#include <fmt/format.h>
#include <liburing.h>
#include <sys/uio.h>
#include <linux/fs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "blockxport/io_engine.h"
#include "blockxport/io_engine_factories.h"

namespace blockxport {
namespace {

// Why setup failed, in the words an operator needs: the bare errno rarely says which knob to turn.
std::string setup_hint(int error) {
  int disabled = 0;
  std::ifstream sysctl("/proc/sys/kernel/io_uring_disabled");
  if (sysctl >> disabled && disabled != 0) {
    return fmt::format(" (kernel.io_uring_disabled is {})", disabled);
  }
  if (error == EPERM || error == ENOSYS) return " (blocked by a seccomp filter or a kernel without io_uring?)";
  if (error == ENOMEM) return " (RLIMIT_MEMLOCK too low for the ring?)";
  return "";
}

class UringEngine final : public IoEngine {
 public:
  explicit UringEngine(const EngineOptions& options)
      : depth_(options.depth), write_dsync_(options.write_dsync), ready_(options.depth) {
    init_ring();
    // A sparse table (Linux 5.19) filled as owners register their buffers; without it, no fixed
    // buffers, and every request pins its pages as before.
    if (options.fixed_buffers && io_uring_register_buffers_sparse(&ring_, kFixedSlots) == 0)
      fixed_.resize(kFixedSlots);
  }

  ~UringEngine() override {
    drain();
    io_uring_queue_exit(&ring_);
  }

  bool register_memory(std::span<std::byte> memory) override {
    auto free_slot = std::find_if(fixed_.begin(), fixed_.end(), [](const Fixed& f) { return f.length == 0; });
    if (free_slot == fixed_.end() || memory.empty()) return false;
    iovec iov{memory.data(), memory.size()};
    __u64 tag = 0;
    unsigned index = static_cast<unsigned>(free_slot - fixed_.begin());
    // Fails with ENOMEM past RLIMIT_MEMLOCK: the memory is then used unregistered.
    if (io_uring_register_buffers_update_tag(&ring_, index, &iov, &tag, 1) != 1) return false;
    *free_slot = Fixed{memory.data(), memory.size()};
    return true;
  }

  void unregister_memory(std::span<std::byte> memory) override {
    for (size_t i = 0; i < fixed_.size(); ++i) {
      if (fixed_[i].base != memory.data()) continue;
      iovec none{nullptr, 0};
      __u64 tag = 0;
      io_uring_register_buffers_update_tag(&ring_, static_cast<unsigned>(i), &none, &tag, 1);
      fixed_[i] = Fixed{};
    }
  }

  uint64_t fixed_requests() const override { return fixed_requests_; }

 private:
  void init_ring() {
    // SUBMIT_ALL makes the kernel keep going past an SQE it rejects (the error arrives as that
    // request's CQE), so a batch is always consumed whole; kernels before 5.18 lack it.
    int rc = io_uring_queue_init(depth_, &ring_, IORING_SETUP_SUBMIT_ALL);
    if (rc == -EINVAL) rc = io_uring_queue_init(depth_, &ring_, 0);
    if (rc < 0) {
      throw IoEngineError(fmt::format("io_uring: cannot set up a ring of {} entries: {}{}", depth_, std::strerror(-rc),
                                      setup_hint(-rc)));
    }
    // Without EXT_ARG, io_uring_wait_cqe_timeout queues a timeout SQE of its own whose CQE would
    // reach reap() as a bogus completion; kernels that old (before 5.11) get libaio instead.
    if ((ring_.features & IORING_FEAT_EXT_ARG) == 0) {
      io_uring_queue_exit(&ring_);
      throw IoEngineError("io_uring: the kernel lacks IORING_FEAT_EXT_ARG (Linux 5.11 or newer needed)");
    }
  }

 public:
  std::string_view name() const override { return "io_uring"; }
  unsigned in_flight() const override { return in_flight_; }
  unsigned depth() const override { return depth_; }
  // The ring fd itself is pollable (readable while the CQ holds entries), so an epoll loop needs
  // no eventfd: that saves a read() per wake-up, a fifth of an idle link's system calls.
  int completion_fd() const override { return ring_.ring_fd; }

  size_t submit(std::span<const IoRequest> requests) override {
    size_t count = std::min<size_t>(requests.size(), depth_ - in_flight_);
    size_t prepared = 0;
    for (; prepared < count; ++prepared) {
      // The SQ holds at least `depth` entries and every submit empties it, so this only fails
      // if the ring was sized below the depth, in which case accepting fewer is still correct.
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      if (sqe == nullptr) break;
      const IoRequest& request = requests[prepared];
      int fixed = fixed_index(request);
      if (request.op == IoOp::read) {
        if (fixed >= 0)
          io_uring_prep_read_fixed(sqe, request.fd, request.buffer, request.length, request.offset, fixed);
        else
          io_uring_prep_read(sqe, request.fd, request.buffer, request.length, request.offset);
      } else {
        if (fixed >= 0)
          io_uring_prep_write_fixed(sqe, request.fd, request.buffer, request.length, request.offset, fixed);
        else
          io_uring_prep_write(sqe, request.fd, request.buffer, request.length, request.offset);
        if (write_dsync_) sqe->rw_flags = RWF_DSYNC;
      }
      if (fixed >= 0) ++fixed_requests_;
      sqe->user_data = request.tag;
    }

    // Without SUBMIT_ALL the kernel stops at a rejected SQE and leaves the rest queued, so keep
    // entering until it has taken them all; with it, the first call takes the whole batch.
    size_t consumed = 0;
    while (consumed < prepared) {
      int rc = io_uring_submit(&ring_);
      if (rc == -EINTR) continue;
      if (rc < 0) {
        // The SQEs are already visible to the kernel and cannot be withdrawn; the engine is no
        // longer in a state anyone can reason about, so the owner must drop it.
        in_flight_ += static_cast<unsigned>(prepared);
        throw IoEngineError(fmt::format("io_uring: submitting {} requests failed: {}", prepared, std::strerror(-rc)));
      }
      if (rc == 0) break;
      consumed += static_cast<size_t>(rc);
    }
    in_flight_ += static_cast<unsigned>(prepared);
    return prepared;
  }

  size_t reap(std::span<IoCompletion> out, std::chrono::nanoseconds timeout) override {
    if (out.empty() || in_flight_ == 0) return 0;
    unsigned want = static_cast<unsigned>(std::min<size_t>(out.size(), ready_.size()));
    unsigned got = io_uring_peek_batch_cqe(&ring_, ready_.data(), want);
    if (got == 0 && timeout.count() > 0) {
      auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
      __kernel_timespec ts{};
      ts.tv_sec = seconds.count();
      ts.tv_nsec = (timeout - seconds).count();
      io_uring_cqe* first = nullptr;
      int rc = io_uring_wait_cqe_timeout(&ring_, &first, &ts);
      // ETIME is the timeout expiring and EINTR a signal: both simply mean "nothing yet".
      if (rc < 0 && rc != -ETIME && rc != -EINTR) {
        throw IoEngineError(fmt::format("io_uring: waiting for completions failed: {}", std::strerror(-rc)));
      }
      if (rc == 0) got = io_uring_peek_batch_cqe(&ring_, ready_.data(), want);
    }
    for (unsigned i = 0; i < got; ++i) {
      out[i] = IoCompletion{ready_[i]->user_data, ready_[i]->res};
    }
    io_uring_cq_advance(&ring_, got);
    in_flight_ -= got;
    return got;
  }

 private:
  // In-flight O_DIRECT reads still DMA into their buffers after the ring fd is closed, and the
  // owner frees those buffers right after destroying us; so cancel what can be cancelled and
  // wait for everything else before the ring goes away.
  void drain() {
    if (in_flight_ == 0) return;
    unsigned expected = in_flight_;
    if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_)) {
      io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
      if (io_uring_submit(&ring_) == 1) ++expected;
    }
    while (expected > 0) {
      io_uring_cqe* cqe = nullptr;
      int rc = io_uring_wait_cqe(&ring_, &cqe);
      if (rc == -EINTR) continue;
      if (rc < 0) break;
      io_uring_cqe_seen(&ring_, cqe);
      --expected;
    }
    in_flight_ = 0;
  }

  // The registered region a request lies in, or -1.
  int fixed_index(const IoRequest& request) const {
    auto* begin = static_cast<const std::byte*>(request.buffer);
    for (size_t i = 0; i < fixed_.size(); ++i) {
      const Fixed& f = fixed_[i];
      if (f.length != 0 && begin >= f.base && begin + request.length <= f.base + f.length) return static_cast<int>(i);
    }
    return -1;
  }

  struct Fixed {
    const std::byte* base = nullptr;
    size_t length = 0;  // 0: a free slot of the table
  };
  // A writer's pool, a window per peer reader (a shared LUN's 63) and the state buffers.
  static constexpr unsigned kFixedSlots = 72;

  io_uring ring_{};
  std::vector<Fixed> fixed_;  // empty: no fixed buffers here
  uint64_t fixed_requests_ = 0;
  unsigned depth_;
  bool write_dsync_;
  unsigned in_flight_ = 0;
  std::vector<io_uring_cqe*> ready_;  // peek_batch target, sized once so reap never allocates
};

}  // namespace

std::unique_ptr<IoEngine> make_uring_engine(const EngineOptions& options) {
  return std::make_unique<UringEngine>(options);
}

}  // namespace blockxport
