// Synchronous engine: the I/O happens inside submit(); reap() only hands back what is done.
// The last resort where neither io_uring nor aio is allowed, and a baseline for benchmarks.
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "blockxport/io_engine.h"
#include "blockxport/io_engine_factories.h"

namespace blockxport {
namespace {

class SyncEngine final : public IoEngine {
 public:
  explicit SyncEngine(const EngineOptions& options)
      : depth_(options.depth), write_dsync_(options.write_dsync), done_(options.depth) {}

  std::string_view name() const override { return "sync"; }
  unsigned in_flight() const override { return count_; }
  unsigned depth() const override { return depth_; }

  size_t submit(std::span<const IoRequest> requests) override {
    size_t accepted = std::min<size_t>(requests.size(), depth_ - count_);
    for (size_t i = 0; i < accepted; ++i) {
      const IoRequest& request = requests[i];
      done_[(head_ + count_) % depth_] = IoCompletion{request.tag, perform(request)};
      ++count_;
    }
    return accepted;
  }

  size_t reap(std::span<IoCompletion> out, std::chrono::nanoseconds /*timeout*/) override {
    size_t got = std::min<size_t>(out.size(), count_);
    for (size_t i = 0; i < got; ++i) {
      out[i] = done_[head_];
      head_ = (head_ + 1) % depth_;
    }
    count_ -= static_cast<unsigned>(got);
    return got;
  }

 private:
  // One system call per request, like one kernel request in the async engines: a short
  // transfer is reported as such instead of being retried, so all engines agree.
  int32_t perform(const IoRequest& request) const {
    auto offset = static_cast<off_t>(request.offset);
    ssize_t rc;
    do {
      if (request.op == IoOp::read) {
        rc = ::pread(request.fd, request.buffer, request.length, offset);
      } else if (write_dsync_) {
        iovec iov{request.buffer, request.length};
        rc = ::pwritev2(request.fd, &iov, 1, offset, RWF_DSYNC);
      } else {
        rc = ::pwrite(request.fd, request.buffer, request.length, offset);
      }
    } while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : static_cast<int32_t>(rc);
  }

  unsigned depth_;
  bool write_dsync_;
  std::vector<IoCompletion> done_;  // a ring of finished requests, sized to the depth once
  unsigned head_ = 0;
  unsigned count_ = 0;
};

}  // namespace

std::unique_ptr<IoEngine> make_sync_engine(const EngineOptions& options) {
  return std::make_unique<SyncEngine>(options);
}

}  // namespace blockxport
