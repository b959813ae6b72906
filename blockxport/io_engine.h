// The one interface every block I/O engine implements (one file per engine, like fio's ioengines).
// Requests are batched in, completions are batched out; the engine never interprets the bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace blockxport {

enum class IoOp : uint8_t { read, write };

struct IoRequest {
  IoOp op;
  int fd;
  void* buffer;     // aligned to the volume's logical block size for O_DIRECT
  uint32_t length;  // a multiple of the logical block size
  uint64_t offset;  // a multiple of the logical block size
  uint64_t tag;     // returned untouched in the completion; routes it to its owner
};

struct IoCompletion {
  uint64_t tag;
  int32_t result;  // bytes transferred, or -errno
};

enum class EngineKind : uint8_t { automatic, io_uring, libaio, sync };

struct EngineOptions {
  unsigned depth = 64;       // most requests in flight at once
  bool write_dsync = false;  // RWF_DSYNC on every write (FUA on most devices)
  // Let register_memory() pin owners' buffers once (io_uring fixed buffers); false: never.
  bool fixed_buffers = true;
};

class IoEngine {
 public:
  virtual ~IoEngine() = default;
  IoEngine() = default;
  IoEngine(const IoEngine&) = delete;
  IoEngine& operator=(const IoEngine&) = delete;

  virtual std::string_view name() const = 0;

  // Hands the requests to the kernel in as few system calls as the engine allows. Returns how many
  // were accepted; fewer than asked only when `in_flight() + n` would exceed the depth.
  // Throws IoEngineError when the kernel refuses the submission itself.
  virtual size_t submit(std::span<const IoRequest> requests) = 0;

  // Collects finished requests into `out`. Waits up to `timeout` for the first one when none is
  // ready (zero: never waits). Returns how many were written to `out`.
  virtual size_t reap(std::span<IoCompletion> out, std::chrono::nanoseconds timeout) = 0;

  // Requests submitted and not yet reaped.
  virtual unsigned in_flight() const = 0;
  virtual unsigned depth() const = 0;

  // A file descriptor that becomes readable when a completion is posted, for an epoll loop (an
  // eventfd, or io_uring's own ring fd); -1 when the engine has none (sync: its completions are
  // ready as soon as submit() returns). After it fires, drain_completion_fd() and then reap().
  virtual int completion_fd() const { return -1; }
  virtual void drain_completion_fd() {}

  // Memory its owner does I/O into for as long as it holds it (the writer's block buffers, a
  // reader's window). An engine that can (io_uring: fixed buffers) pins its pages once, so that a
  // request into it skips pinning them again, which is most of an O_DIRECT request's CPU cost on
  // top of the device's. Returns false where it cannot (another engine, the table is full, or
  // RLIMIT_MEMLOCK); requests into the memory then work as before. A region is unregistered
  // before it is freed, with nothing in flight into it.
  virtual bool register_memory(std::span<std::byte> /*memory*/) { return false; }
  virtual void unregister_memory(std::span<std::byte> /*memory*/) {}
  // Requests that went through registered memory, of all submitted (for benchmarks and status).
  virtual uint64_t fixed_requests() const { return 0; }

  // Expires with the engine: a RegisteredMemory that outlives it (an owner that drains the
  // engine by destroying it first) then has nothing left to unregister.
  std::weak_ptr<const void> lifetime() const { return lifetime_; }

 private:
  std::shared_ptr<const void> lifetime_ = std::make_shared<int>(0);
};

// Registers memory with an engine for the holder's life (see IoEngine::register_memory).
class RegisteredMemory {
 public:
  RegisteredMemory() = default;
  RegisteredMemory(IoEngine& engine, std::span<std::byte> memory)
      : engine_(engine.register_memory(memory) ? &engine : nullptr), lifetime_(engine.lifetime()), memory_(memory) {}
  ~RegisteredMemory() { reset(); }
  RegisteredMemory(RegisteredMemory&& other) noexcept
      : engine_(std::exchange(other.engine_, nullptr)), lifetime_(other.lifetime_), memory_(other.memory_) {}
  RegisteredMemory& operator=(RegisteredMemory&& other) noexcept {
    if (this != &other) {
      reset();
      engine_ = std::exchange(other.engine_, nullptr);
      lifetime_ = other.lifetime_;
      memory_ = other.memory_;
    }
    return *this;
  }
  bool registered() const { return engine_ != nullptr; }

 private:
  void reset() {
    if (engine_ && !lifetime_.expired()) engine_->unregister_memory(memory_);
    engine_ = nullptr;
  }
  IoEngine* engine_ = nullptr;
  std::weak_ptr<const void> lifetime_;
  std::span<std::byte> memory_;
};

struct IoEngineError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string_view engine_kind_name(EngineKind kind);
// Parses "auto", "io_uring", "libaio" or "sync"; throws std::invalid_argument naming the value.
EngineKind parse_engine_kind(std::string_view text);

// Builds the requested engine. `automatic` tries io_uring, then libaio, then sync, and the
// returned engine's name() says which one worked. Throws IoEngineError when the requested
// engine cannot be set up here (the message names the engine and the errno).
std::unique_ptr<IoEngine> make_io_engine(EngineKind kind, const EngineOptions& options);

}  // namespace blockxport
