// Linux native AIO engine (libaio): the fallback where io_uring is blocked but io_submit is not.
#include <fmt/format.h>
#include <libaio.h>
#include <linux/fs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

#include "blockxport/io_engine.h"
#include "blockxport/io_engine_factories.h"
#include "blockxport/completion_eventfd.h"

namespace blockxport {
namespace {

class AioEngine final : public IoEngine {
 public:
  explicit AioEngine(const EngineOptions& options)
      : depth_(options.depth),
        write_dsync_(options.write_dsync),
        iocbs_(options.depth),
        tags_(options.depth),
        free_(options.depth),
        batch_(options.depth),
        events_(options.depth),
        failed_(options.depth) {
    int rc = io_setup(static_cast<int>(depth_), &context_);
    if (rc < 0) {
      // EAGAIN here means the system-wide fs.aio-max-nr budget is used up, not a transient.
      throw IoEngineError(fmt::format("libaio: io_setup({}) failed: {}{}", depth_, std::strerror(-rc),
                                      rc == -EAGAIN ? " (fs.aio-max-nr exhausted?)" : ""));
    }
    for (unsigned i = 0; i < depth_; ++i) free_[i] = &iocbs_[i];
    free_count_ = depth_;
  }

  // io_destroy waits for every in-flight request, so buffers the owner frees afterwards are safe.
  ~AioEngine() override { io_destroy(context_); }

  std::string_view name() const override { return "libaio"; }
  unsigned in_flight() const override { return kernel_in_flight_ + failed_count_; }
  unsigned depth() const override { return depth_; }
  int completion_fd() const override { return eventfd_.fd(); }
  void drain_completion_fd() override { eventfd_.drain(); }

  size_t submit(std::span<const IoRequest> requests) override {
    size_t count = std::min<size_t>(requests.size(), depth_ - in_flight());
    for (size_t i = 0; i < count; ++i) {
      const IoRequest& request = requests[i];
      iocb* cb = free_[--free_count_];
      auto offset = static_cast<long long>(request.offset);
      if (request.op == IoOp::read) {
        io_prep_pread(cb, request.fd, request.buffer, request.length, offset);
      } else {
        io_prep_pwrite(cb, request.fd, request.buffer, request.length, offset);
        if (write_dsync_) cb->aio_rw_flags = RWF_DSYNC;
      }
      io_set_eventfd(cb, eventfd_.fd());
      tags_[index_of(cb)] = request.tag;
      batch_[i] = cb;
    }

    // io_submit stops at the first iocb it rejects (bad fd, wrong open mode, bad flags): it
    // returns how many went before it, or -errno when the rejected one is first. Turning each
    // rejection into a completion keeps the contract that every accepted request completes,
    // with the same -errno the other engines report.
    size_t done = 0;
    while (done < count) {
      int rc = io_submit(context_, static_cast<long>(count - done), batch_.data() + done);
      if (rc > 0) {
        done += static_cast<size_t>(rc);
        kernel_in_flight_ += static_cast<unsigned>(rc);
        continue;
      }
      fail_now(batch_[done], rc == 0 ? -EAGAIN : rc);
      ++done;
    }
    return count;
  }

  size_t reap(std::span<IoCompletion> out, std::chrono::nanoseconds timeout) override {
    size_t got = 0;
    while (got < out.size() && failed_count_ > 0) {
      out[got++] = failed_[failed_head_];
      failed_head_ = (failed_head_ + 1) % depth_;
      --failed_count_;
    }
    if (got == out.size() || kernel_in_flight_ == 0) return got;

    // Only block when there is nothing at all to hand back; a zero timespec makes libaio answer
    // from the user-mapped ring without a system call when it is empty.
    bool wait = got == 0 && timeout.count() > 0;
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
    timespec ts{};
    if (wait) {
      ts.tv_sec = static_cast<time_t>(seconds.count());
      ts.tv_nsec = static_cast<long>((timeout - seconds).count());
    }
    long max = static_cast<long>(std::min<size_t>(out.size() - got, events_.size()));
    int rc = io_getevents(context_, wait ? 1 : 0, max, events_.data(), &ts);
    if (rc == -EINTR) return got;
    if (rc < 0) {
      throw IoEngineError(fmt::format("libaio: io_getevents failed: {}", std::strerror(-rc)));
    }
    for (int i = 0; i < rc; ++i) {
      const io_event& event = events_[static_cast<size_t>(i)];
      iocb* cb = event.obj;
      // res is the kernel's long result (bytes or -errno) carried in an unsigned long.
      out[got++] = IoCompletion{tags_[index_of(cb)], static_cast<int32_t>(static_cast<long>(event.res))};
      free_[free_count_++] = cb;
    }
    kernel_in_flight_ -= static_cast<unsigned>(rc);
    return got;
  }

 private:
  size_t index_of(const iocb* cb) const { return static_cast<size_t>(cb - iocbs_.data()); }

  void fail_now(iocb* cb, int error) {
    failed_[(failed_head_ + failed_count_) % depth_] = IoCompletion{tags_[index_of(cb)], error};
    ++failed_count_;
    free_[free_count_++] = cb;
    eventfd_.signal();
  }

  CompletionEventFd eventfd_{"libaio"};
  io_context_t context_ = nullptr;
  unsigned depth_;
  bool write_dsync_;
  unsigned kernel_in_flight_ = 0;
  // Everything below is sized to the depth once, so the data path never allocates.
  std::vector<iocb> iocbs_;
  std::vector<uint64_t> tags_;  // by iocb index; the event's obj pointer leads back here
  std::vector<iocb*> free_;     // a stack of unused iocbs
  unsigned free_count_ = 0;
  std::vector<iocb*> batch_;
  std::vector<io_event> events_;
  std::vector<IoCompletion> failed_;  // a ring of requests io_submit refused outright
  unsigned failed_head_ = 0;
  unsigned failed_count_ = 0;
};

}  // namespace

std::unique_ptr<IoEngine> make_aio_engine(const EngineOptions& options) { return std::make_unique<AioEngine>(options); }

}  // namespace blockxport
