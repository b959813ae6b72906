#include "mirror_io.h"

#include <array>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace vnic_fault {
namespace {

constexpr unsigned kDepth = 128;
constexpr uint64_t kReadTag = 1ull << 63;  // | index into the batch being read

}  // namespace

MirrorIo::MirrorIo(int src_fd, int dst_fd)
    : src_fd_(src_fd),
      dst_fd_(dst_fd),
      engine_(blockxport::make_io_engine(blockxport::EngineKind::automatic, {kDepth})) {}

MirrorIo::~MirrorIo() {
  try {
    drain();
  } catch (...) {
    // Already failing; the buffers must only outlive the requests.
  }
}

void MirrorIo::complete(const blockxport::IoCompletion& done, std::vector<MirrorRead>* reads) {
  if (done.tag & kReadTag) {
    if (reads) (*reads)[done.tag & ~kReadTag].result = done.result;
    --reads_pending_;
    return;
  }
  auto it = writes_.find(done.tag);
  if (it == writes_.end()) return;
  if (done.result != static_cast<int32_t>(it->second.length))
    throw std::runtime_error(fmt::format("write of {} bytes at offset {} failed: {}", it->second.length,
                                         it->second.offset, done.result < 0 ? std::strerror(-done.result) : "short"));
  if (--busy_[it->second.key] == 0) busy_.erase(it->second.key);
  writes_.erase(it);
}

void MirrorIo::read_all(std::vector<MirrorRead>& reads) {
  std::vector<blockxport::IoRequest> requests;
  for (size_t i = 0; i < reads.size(); ++i) {
    auto& r = reads[i];
    r.buffer = std::make_shared<blockxport::AlignedBuffer>(r.length, 4096);
    requests.push_back({blockxport::IoOp::read, src_fd_, r.buffer->data(), r.length, r.offset, kReadTag | i});
  }
  size_t submitted = 0;
  while (submitted < requests.size() || reads_pending_ > 0) {
    if (submitted < requests.size()) {
      size_t n = engine_->submit(std::span(requests).subspan(submitted));
      submitted += n;
      reads_pending_ += n;
    }
    std::array<blockxport::IoCompletion, 64> done;
    size_t n = engine_->reap(done, std::chrono::milliseconds(1));
    for (size_t i = 0; i < n; ++i) complete(done[i], &reads);
  }
  for (const auto& r : reads)
    if (r.result != static_cast<int32_t>(r.length))
      throw std::runtime_error(fmt::format("read of {} bytes at offset {} failed: {}", r.length, r.offset,
                                           r.result < 0 ? std::strerror(-r.result) : "short"));
}

bool MirrorIo::write(uint64_t key, std::shared_ptr<blockxport::AlignedBuffer> buffer, uint32_t begin, uint32_t length,
                     uint64_t offset) {
  uint64_t tag = next_tag_++;
  blockxport::IoRequest request{blockxport::IoOp::write, dst_fd_, buffer->data() + begin, length, offset + begin, tag};
  if (engine_->submit(std::span(&request, 1)) != 1) return false;
  writes_.emplace(tag, Write{key, std::move(buffer), length, offset + begin});
  ++busy_[key];
  return true;
}

void MirrorIo::poll(blockxport::Nanos wait) {
  if (engine_->in_flight() == 0) return;
  std::array<blockxport::IoCompletion, 64> done;
  size_t n = engine_->reap(done, wait);
  for (size_t i = 0; i < n; ++i) complete(done[i], nullptr);
}

void MirrorIo::drain() {
  while (engine_->in_flight() > 0) poll(std::chrono::milliseconds(10));
}

}  // namespace vnic_fault
