#include "blockxport/io_engine_fault.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <random>
#include <vector>

#include <fmt/format.h>

namespace blockxport {
namespace {

// Shortened requests stay multiples of this, which every O_DIRECT alignment divides.
constexpr uint32_t kShortUnit = 4096;
// How often the outage file is looked for: a stat per request would cost more than the I/O.
constexpr auto kOutageCheckInterval = std::chrono::milliseconds(5);

double parse_fraction(std::string_view key, std::string_view value) {
  std::string text(value);
  char* end = nullptr;
  double result = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(result >= 0.0 && result <= 1.0))
    throw IoEngineError(fmt::format("{}: {}={}: expected a fraction from 0 to 1", kFaultInjectEnv, key, value));
  return result;
}

uint64_t parse_count(std::string_view key, std::string_view value) {
  uint64_t result = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), result);
  if (ec != std::errc() || ptr != value.data() + value.size() || value.empty())
    throw IoEngineError(fmt::format("{}: {}={}: expected a whole number", kFaultInjectEnv, key, value));
  return result;
}

struct FaultCounts {
  uint64_t read_eio = 0, write_eio = 0, short_read = 0, short_write = 0, outage_read = 0, outage_write = 0, bad_read = 0;
};

class FaultEngine final : public IoEngine {
 public:
  FaultEngine(std::unique_ptr<IoEngine> inner, const FaultInjection& faults)
      : inner_(std::move(inner)), faults_(faults), rng_(faults.seed), name_(std::string(inner_->name()) + "+faults") {
    pass_.reserve(inner_->depth());
    pass_index_.reserve(inner_->depth());
  }

  ~FaultEngine() override {
    // Requests the real engine still holds point into our owner's buffers: its destructor waits
    // for them, and must run before ours ends.
    inner_.reset();
    fmt::print(stderr,
               "vnic FAULT INJECTION summary: {} requests; injected read_eio {}, write_eio {}, short_read {}, "
               "short_write {}, outage_read {}, outage_write {}, bad_read {}\n",
               requests_, counts_.read_eio, counts_.write_eio, counts_.short_read, counts_.short_write,
               counts_.outage_read, counts_.outage_write, counts_.bad_read);
  }

  std::string_view name() const override { return name_; }
  unsigned in_flight() const override { return inner_->in_flight() + static_cast<unsigned>(failed_.size()); }
  unsigned depth() const override { return inner_->depth(); }
  int completion_fd() const override { return inner_->completion_fd(); }
  void drain_completion_fd() override { inner_->drain_completion_fd(); }
  bool register_memory(std::span<std::byte> memory) override { return inner_->register_memory(memory); }
  void unregister_memory(std::span<std::byte> memory) override { inner_->unregister_memory(memory); }
  uint64_t fixed_requests() const override { return inner_->fixed_requests(); }

  size_t submit(std::span<const IoRequest> requests) override {
    size_t room = depth() > in_flight() ? depth() - in_flight() : 0;
    size_t count = std::min(requests.size(), room);
    bool outage = in_outage();
    auto bad = bad_read_range();
    pass_.clear();
    pass_index_.clear();
    size_t failed_before = failed_.size();
    for (size_t i = 0; i < count; ++i) {
      IoRequest request = requests[i];
      bool read = request.op == IoOp::read;
      bool eligible = requests_ + i >= faults_.after;
      if (outage) {
        ++(read ? counts_.outage_read : counts_.outage_write);
        failed_.push_back({request.tag, -EIO, i});
        continue;
      }
      if (read && bad && request.offset < bad->second && bad->first < request.offset + request.length) {
        ++counts_.bad_read;
        failed_.push_back({request.tag, -EIO, i});
        continue;
      }
      if (eligible && chance(read ? faults_.read_eio : faults_.write_eio)) {
        ++(read ? counts_.read_eio : counts_.write_eio);
        failed_.push_back({request.tag, -EIO, i});
        continue;
      }
      if (eligible && request.length >= 2 * kShortUnit && chance(read ? faults_.short_read : faults_.short_write)) {
        ++(read ? counts_.short_read : counts_.short_write);
        uint32_t units = request.length / kShortUnit;  // keep 1 .. units-1 of them
        request.length = kShortUnit * static_cast<uint32_t>(1 + rng_() % (units - 1));
      }
      pass_.push_back(request);
      pass_index_.push_back(i);
    }
    size_t taken = pass_.empty() ? 0 : inner_->submit(pass_);
    if (taken < pass_.size()) {
      // The real engine took fewer: the caller resubmits from the first one it refused, so the
      // faults decided for requests from there on must not complete either.
      count = pass_index_[taken];
      while (failed_.size() > failed_before && failed_.back().index >= count) failed_.pop_back();
    }
    requests_ += count;
    if (failed_.size() > failed_before) wake();
    return count;
  }

  size_t reap(std::span<IoCompletion> out, std::chrono::nanoseconds timeout) override {
    size_t got = 0;
    while (got < out.size() && !failed_.empty()) {
      out[got++] = IoCompletion{failed_.front().tag, failed_.front().result};
      failed_.pop_front();
    }
    if (got < out.size() && inner_->in_flight() > 0)
      got += inner_->reap(out.subspan(got), got > 0 ? std::chrono::nanoseconds{0} : timeout);
    return got;
  }

 private:
  struct Failed {
    uint64_t tag;
    int32_t result;
    size_t index;  // in the submit() call that made it
  };

  bool chance(double p) { return p > 0 && std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < p; }

  bool in_outage() {
    if (faults_.outage_file.empty()) return false;
    auto now = std::chrono::steady_clock::now();
    if (now >= next_outage_check_) {
      bool was = outage_;
      outage_ = ::access(faults_.outage_file.c_str(), F_OK) == 0;
      if (was != outage_)
        fmt::print(stderr, "vnic FAULT INJECTION: outage {}: every request {}\n", outage_ ? "begins" : "ends",
                   outage_ ? "fails with EIO" : "goes to the volume again");
      next_outage_check_ = now + kOutageCheckInterval;
    }
    return outage_;
  }

  // [begin, end) of the bad place, while the bad-read file names one.
  std::optional<std::pair<uint64_t, uint64_t>> bad_read_range() {
    if (faults_.bad_read_file.empty()) return std::nullopt;
    auto now = std::chrono::steady_clock::now();
    if (now >= next_bad_read_check_) {
      next_bad_read_check_ = now + kOutageCheckInterval;
      std::ifstream in(faults_.bad_read_file);
      uint64_t offset = 0, length = 0;
      std::optional<std::pair<uint64_t, uint64_t>> range;
      if (in >> offset >> length && length > 0) range = std::pair(offset, offset + length);
      if (range != bad_read_)
        fmt::print(stderr, "vnic FAULT INJECTION: bad read range {}\n",
                   range ? fmt::format("[{}, {}): every read touching it fails with EIO", range->first, range->second)
                         : std::string("cleared"));
      bad_read_ = range;
    }
    return bad_read_;
  }

  // Failed requests complete without the kernel: make the owner's epoll loop look at reap().
  void wake() {
    int fd = inner_->completion_fd();
    if (fd < 0) return;
    uint64_t one = 1;
    ssize_t rc = ::write(fd, &one, sizeof(one));
    (void)rc;  // an eventfd at its limit is readable already
  }

  std::unique_ptr<IoEngine> inner_;
  FaultInjection faults_;
  std::mt19937_64 rng_;
  std::string name_;
  std::deque<Failed> failed_;
  std::vector<IoRequest> pass_;
  std::vector<size_t> pass_index_;
  uint64_t requests_ = 0;
  FaultCounts counts_;
  bool outage_ = false;
  std::chrono::steady_clock::time_point next_outage_check_{};
  std::optional<std::pair<uint64_t, uint64_t>> bad_read_;
  std::chrono::steady_clock::time_point next_bad_read_check_{};
};

}  // namespace

FaultInjection parse_fault_injection(std::string_view spec) {
  FaultInjection f;
  while (!spec.empty()) {
    size_t comma = spec.find(',');
    std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      throw IoEngineError(fmt::format("{}: '{}': expected key=value", kFaultInjectEnv, item));
    std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "read_eio") {
      f.read_eio = parse_fraction(key, value);
    } else if (key == "write_eio") {
      f.write_eio = parse_fraction(key, value);
    } else if (key == "short_read") {
      f.short_read = parse_fraction(key, value);
    } else if (key == "short_write") {
      f.short_write = parse_fraction(key, value);
    } else if (key == "seed") {
      f.seed = parse_count(key, value);
    } else if (key == "after") {
      f.after = parse_count(key, value);
    } else if (key == "outage_file") {
      f.outage_file = std::string(value);
    } else if (key == "bad_read_file") {
      f.bad_read_file = std::string(value);
    } else {
      throw IoEngineError(fmt::format(
          "{}: unknown key '{}' (expected read_eio, write_eio, short_read, short_write, seed, after, outage_file, bad_read_file)",
          kFaultInjectEnv, key));
    }
  }
  return f;
}

std::unique_ptr<IoEngine> make_fault_engine(std::unique_ptr<IoEngine> inner, const FaultInjection& faults) {
  return std::make_unique<FaultEngine>(std::move(inner), faults);
}

std::unique_ptr<IoEngine> with_fault_injection(std::unique_ptr<IoEngine> engine) {
  const char* spec = std::getenv(kFaultInjectEnv);
  if (spec == nullptr || *spec == '\0') return engine;
  FaultInjection faults = parse_fault_injection(spec);
  // Loud on purpose: a production daemon that somehow inherited this must not go unnoticed.
  fmt::print(stderr,
             "vnic WARNING: FAULT INJECTION ENABLED by {}=\"{}\": {} engine requests will fail or be short on "
             "purpose (read_eio {}, write_eio {}, short_read {}, short_write {}, seed {}, after {}{}{}{}{})\n",
             kFaultInjectEnv, spec, engine->name(), faults.read_eio, faults.write_eio, faults.short_read,
             faults.short_write, faults.seed, faults.after, faults.outage_file.empty() ? "" : ", outage file ",
             faults.outage_file, faults.bad_read_file.empty() ? "" : ", bad read file ", faults.bad_read_file);
  return make_fault_engine(std::move(engine), faults);
}

}  // namespace blockxport
