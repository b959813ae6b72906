// Every engine must behave identically, so each behaviour is one test body run for all three.
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "blockxport/aligned_buffer.h"
#include "blockxport/io_engine.h"
#include "blockxport/volume.h"
#include "tests/support/skip.h"
#include "tests/support/temp_file.h"
#include "tools/common/child_process.h"

using blockxport::AlignedBuffer;
using blockxport::EngineKind;
using blockxport::EngineOptions;
using blockxport::IoCompletion;
using blockxport::IoEngine;
using blockxport::IoEngineError;
using blockxport::IoOp;
using blockxport::IoRequest;
using blockxport::Volume;
using blockxport::VolumeAccess;
using namespace std::chrono_literals;

namespace {

// Asks the kernel directly, so a broken engine fails its tests instead of being skipped.
std::optional<std::string> engine_unavailable(EngineKind kind) {
  if (kind == EngineKind::io_uring) {
    io_uring_params params{};
    long fd = ::syscall(__NR_io_uring_setup, 1, &params);
    if (fd < 0) return std::string("io_uring_setup: ") + std::strerror(errno);
    ::close(static_cast<int>(fd));
  } else if (kind == EngineKind::libaio) {
    aio_context_t context = 0;
    if (::syscall(__NR_io_setup, 1, &context) < 0) return std::string("io_setup: ") + std::strerror(errno);
    ::syscall(__NR_io_destroy, context);
  }
  return std::nullopt;
}

EngineKind each_engine() { return GENERATE(EngineKind::io_uring, EngineKind::libaio, EngineKind::sync); }

// Either an engine of `kind`, or null after reporting the test as skipped (tests/support/skip.h)
// because this environment lacks it; the caller then returns.
std::unique_ptr<IoEngine> engine_or_skip(EngineKind kind, EngineOptions options = {}) {
  if (auto reason = engine_unavailable(kind)) {
    vnic_test::report_skip(std::string(blockxport::engine_kind_name(kind)) + ": " + *reason);
    return nullptr;
  }
  auto engine = blockxport::make_io_engine(kind, options);
  REQUIRE(engine->name() == blockxport::engine_kind_name(kind));
  REQUIRE(engine->depth() == options.depth);
  REQUIRE(engine->in_flight() == 0);
  return engine;
}

std::vector<IoCompletion> reap_all(IoEngine& engine, size_t expected) {
  std::vector<IoCompletion> all;
  std::array<IoCompletion, 16> out{};
  for (int attempt = 0; all.size() < expected && attempt < 1000; ++attempt) {
    size_t got = engine.reap(out, 100ms);
    REQUIRE(got <= out.size());
    all.insert(all.end(), out.begin(), out.begin() + static_cast<std::ptrdiff_t>(got));
  }
  REQUIRE(all.size() == expected);
  REQUIRE(engine.in_flight() == 0);
  std::sort(all.begin(), all.end(), [](const IoCompletion& a, const IoCompletion& b) { return a.tag < b.tag; });
  return all;
}

// One submit, one completion: the common case for the error tests.
int32_t run_one(IoEngine& engine, const IoRequest& request) {
  REQUIRE(engine.submit({&request, 1}) == 1);
  auto done = reap_all(engine, 1);
  REQUIRE(done[0].tag == request.tag);
  return done[0].result;
}

// Distinct per block and per byte, so a swapped, shifted or stale block cannot compare equal.
void fill_pattern(std::byte* block, size_t size, uint64_t seed) {
  for (size_t i = 0; i < size; ++i) block[i] = static_cast<std::byte>((seed * 131 + i * 7 + (i >> 9)) & 0xff);
}

uint32_t io_block_size(const Volume& volume) { return std::max<uint32_t>(4096, volume.logical_block_size()); }

// Writes scattered blocks in one batch, checks them through the synchronous path, then reads
// them back through the engine in another batch.
void check_roundtrip(IoEngine& engine, const Volume& volume, uint64_t seed) {
  const uint32_t block = io_block_size(volume);
  const unsigned count = std::min(16u, engine.depth());
  REQUIRE(volume.size_bytes() >= 2ull * count * block);
  AlignedBuffer written(size_t{count} * block, block);
  AlignedBuffer read_back(size_t{count} * block, block);

  // Odd blocks in reverse order: nothing about the offsets is sequential or contiguous.
  auto offset_of = [&](unsigned i) { return uint64_t{2} * (count - 1 - i) * block + block; };
  std::vector<IoRequest> writes;
  for (unsigned i = 0; i < count; ++i) {
    std::byte* data = written.data() + size_t{i} * block;
    fill_pattern(data, block, seed + i);
    writes.push_back({IoOp::write, volume.fd(), data, block, offset_of(i), 1000 + i});
  }
  REQUIRE(engine.submit(writes) == count);
  CHECK(engine.in_flight() == count);
  auto done = reap_all(engine, count);
  for (unsigned i = 0; i < count; ++i) {
    CHECK(done[i].tag == 1000 + i);
    CHECK(done[i].result == static_cast<int32_t>(block));
  }

  // Compared with a fresh copy of the pattern, not with `written`: an engine that read into the
  // write buffer instead of writing it would otherwise compare equal to itself.
  AlignedBuffer check(block, block);
  AlignedBuffer expected(block, block);
  for (unsigned i = 0; i < count; ++i) {
    fill_pattern(expected.data(), block, seed + i);
    volume.read_exact(check.data(), block, offset_of(i));
    CHECK(std::memcmp(check.data(), expected.data(), block) == 0);
  }

  std::vector<IoRequest> reads;
  for (unsigned i = 0; i < count; ++i) {
    reads.push_back({IoOp::read, volume.fd(), read_back.data() + size_t{i} * block, block, offset_of(i), 2000 + i});
  }
  REQUIRE(engine.submit(reads) == count);
  done = reap_all(engine, count);
  for (unsigned i = 0; i < count; ++i) {
    CHECK(done[i].tag == 2000 + i);
    CHECK(done[i].result == static_cast<int32_t>(block));
    INFO("block " << i);
    fill_pattern(expected.data(), block, seed + i);
    CHECK(std::memcmp(read_back.data() + size_t{i} * block, expected.data(), block) == 0);
  }
}

struct ScratchVolume {
  explicit ScratchVolume(uint64_t size, VolumeAccess access = VolumeAccess::read_write)
      : file(size, "engine"), volume(Volume::open(file.path(), {access, false})) {}
  vnic_test::TempFile file;
  Volume volume;
};

}  // namespace

TEST_CASE("engine kinds parse from and print to the same names", "[io_engine]") {
  for (EngineKind kind : {EngineKind::automatic, EngineKind::io_uring, EngineKind::libaio, EngineKind::sync}) {
    CHECK(blockxport::parse_engine_kind(blockxport::engine_kind_name(kind)) == kind);
  }
  CHECK(blockxport::engine_kind_name(EngineKind::automatic) == "auto");
  CHECK_THROWS_AS(blockxport::parse_engine_kind("bogus"), std::invalid_argument);
  CHECK_THROWS_WITH(blockxport::parse_engine_kind("bogus"), Catch::Contains("'bogus'") && Catch::Contains("io_uring"));
  CHECK_THROWS_AS(blockxport::parse_engine_kind(""), std::invalid_argument);
}

TEST_CASE("an engine of depth zero is refused", "[io_engine]") {
  EngineOptions options;
  options.depth = 0;
  CHECK_THROWS_AS(blockxport::make_io_engine(EngineKind::sync, options), IoEngineError);
}

TEST_CASE("engine round-trips a batch of blocks on a file", "[io_engine]") {
  EngineKind kind = each_engine();
  INFO("engine " << blockxport::engine_kind_name(kind));
  auto engine = engine_or_skip(kind);
  if (!engine) return;
  ScratchVolume scratch(1 << 20);
  check_roundtrip(*engine, scratch.volume, 1);
  // Reuse after a full cycle: free lists and rings must have come back intact.
  check_roundtrip(*engine, scratch.volume, 99);
}

TEST_CASE("engine with write_dsync round-trips", "[io_engine]") {
  EngineKind kind = each_engine();
  INFO("engine " << blockxport::engine_kind_name(kind));
  EngineOptions options;
  options.depth = 8;
  options.write_dsync = true;
  auto engine = engine_or_skip(kind, options);
  if (!engine) return;
  ScratchVolume scratch(1 << 20);
  check_roundtrip(*engine, scratch.volume, 7);
}

TEST_CASE("automatic engine picks one that works", "[io_engine]") {
  auto engine = blockxport::make_io_engine(EngineKind::automatic, {});
  std::string name(engine->name());
  CHECK((name == "io_uring" || name == "libaio" || name == "sync"));
  if (!engine_unavailable(EngineKind::io_uring)) CHECK(name == "io_uring");
  ScratchVolume scratch(1 << 20);
  check_roundtrip(*engine, scratch.volume, 3);
}

TEST_CASE("engine accepts no more than its depth", "[io_engine]") {
  EngineKind kind = each_engine();
  INFO("engine " << blockxport::engine_kind_name(kind));
  EngineOptions options;
  options.depth = 4;
  auto engine = engine_or_skip(kind, options);
  if (!engine) return;
  ScratchVolume scratch(1 << 20);
  const uint32_t block = io_block_size(scratch.volume);
  AlignedBuffer buffer(size_t{10} * block, block);
  std::vector<IoRequest> reads;
  for (unsigned i = 0; i < 10; ++i) {
    reads.push_back(
        {IoOp::read, scratch.volume.fd(), buffer.data() + size_t{i} * block, block, uint64_t{i} * block, i});
  }

  std::span<const IoRequest> pending(reads);
  CHECK(engine->submit(pending) == 4);
  CHECK(engine->in_flight() == 4);
  CHECK(engine->submit(pending.subspan(4)) == 0);
  reap_all(*engine, 4);
  CHECK(engine->submit(pending.subspan(4, 2)) == 2);
  CHECK(engine->submit(pending.subspan(6)) == 2);
  CHECK(engine->in_flight() == 4);
  reap_all(*engine, 4);
  CHECK(engine->submit(pending.subspan(8)) == 2);
  auto done = reap_all(*engine, 2);
  CHECK(done[0].tag == 8);
  CHECK(done[1].tag == 9);
  CHECK(engine->submit(std::span<const IoRequest>{}) == 0);

  // Requests that fail at once (libaio refuses a bad descriptor inside io_submit) still hold a
  // slot until their completion is reaped.
  std::vector<IoRequest> doomed(3, IoRequest{IoOp::read, -1, buffer.data(), block, 0, 0});
  for (unsigned i = 0; i < doomed.size(); ++i) doomed[i].tag = 100 + i;
  CHECK(engine->submit(doomed) == 3);
  CHECK(engine->submit(pending.subspan(0, 2)) == 1);
  CHECK(engine->in_flight() == 4);
  done = reap_all(*engine, 4);
  CHECK(done[0].tag == 0);
  CHECK(done[0].result == static_cast<int32_t>(block));
  for (unsigned i = 1; i < 4; ++i) CHECK(done[i].result == -EBADF);
}

TEST_CASE("engine reap hands back no more than the span holds", "[io_engine]") {
  EngineKind kind = each_engine();
  INFO("engine " << blockxport::engine_kind_name(kind));
  auto engine = engine_or_skip(kind);
  if (!engine) return;
  ScratchVolume scratch(1 << 20);
  const uint32_t block = io_block_size(scratch.volume);
  AlignedBuffer buffer(size_t{8} * block, block);
  std::vector<IoRequest> reads;
  for (unsigned i = 0; i < 8; ++i) {
    reads.push_back(
        {IoOp::read, scratch.volume.fd(), buffer.data() + size_t{i} * block, block, uint64_t{i} * block, i});
  }
  REQUIRE(engine->submit(reads) == 8);
  CHECK(engine->reap(std::span<IoCompletion>{}, 10ms) == 0);
  std::array<IoCompletion, 3> out{};
  std::vector<uint64_t> tags;
  for (int attempt = 0; tags.size() < 8 && attempt < 1000; ++attempt) {
    size_t got = engine->reap(out, 100ms);
    REQUIRE(got <= out.size());
    for (size_t i = 0; i < got; ++i) {
      CHECK(out[i].result == static_cast<int32_t>(block));
      tags.push_back(out[i].tag);
    }
  }
  std::sort(tags.begin(), tags.end());
  CHECK(tags == std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(engine->in_flight() == 0);
}

TEST_CASE("engine returns tags untouched", "[io_engine]") {
  EngineKind kind = each_engine();
  INFO("engine " << blockxport::engine_kind_name(kind));
  auto engine = engine_or_skip(kind);
  if (!engine) return;
  ScratchVolume scratch(1 << 20);
  const uint32_t block = io_block_size(scratch.volume);
  AlignedBuffer buffer(size_t{4} * block, block);
  const std::array<uint64_t, 4> tags{0, UINT64_MAX, uint64_t{1} << 63, 0xdeadbeefcafef00dull};
  std::vector<IoRequest> reads;
  for (size_t i = 0; i < tags.size(); ++i) {
    reads.push_back({IoOp::read, scratch.volume.fd(), buffer.data() + i * block, block, i * block, tags[i]});
  }
  REQUIRE(engine->submit(reads) == tags.size());
  auto done = reap_all(*engine, tags.size());
  std::vector<uint64_t> seen;
  for (const auto& completion : done) seen.push_back(completion.tag);
  std::vector<uint64_t> expected(tags.begin(), tags.end());
  std::sort(expected.begin(), expected.end());
  CHECK(seen == expected);
}

TEST_CASE("engine reports reads at and past the end as short, not as errors", "[io_engine]") {
  EngineKind kind = each_engine();
  INFO("engine " << blockxport::engine_kind_name(kind));
  auto engine = engine_or_skip(kind);
  if (!engine) return;
  ScratchVolume scratch(64 * 1024);
  const uint32_t block = io_block_size(scratch.volume);
  const uint64_t size = scratch.volume.size_bytes();
  AlignedBuffer buffer(size_t{2} * block, block);
  int fd = scratch.volume.fd();
  CHECK(run_one(*engine, {IoOp::read, fd, buffer.data(), block, size, 1}) == 0);
  CHECK(run_one(*engine, {IoOp::read, fd, buffer.data(), 2 * block, size - block, 2}) == static_cast<int32_t>(block));
  CHECK(run_one(*engine, {IoOp::read, fd, buffer.data(), block, size * 16, 3}) == 0);
}

TEST_CASE("engine reports per-request errors as negative errno", "[io_engine]") {
  EngineKind kind = each_engine();
  INFO("engine " << blockxport::engine_kind_name(kind));
  auto engine = engine_or_skip(kind);
  if (!engine) return;
  ScratchVolume scratch(1 << 20);
  Volume read_only = Volume::open(scratch.file.path(), {VolumeAccess::read_only, false});
  const uint32_t block = io_block_size(scratch.volume);
  AlignedBuffer buffer(size_t{4} * block, block);
  std::byte* data = buffer.data();
  int fd = scratch.volume.fd();

  SECTION("write through a read-only descriptor") {
    CHECK(run_one(*engine, {IoOp::write, read_only.fd(), data, block, 0, 1}) == -EBADF);
  }
  SECTION("a descriptor that is not open") { CHECK(run_one(*engine, {IoOp::read, -1, data, block, 0, 2}) == -EBADF); }
  SECTION("O_DIRECT length not a multiple of the logical block size") {
    CHECK(run_one(*engine, {IoOp::read, fd, data, 100, 0, 3}) == -EINVAL);
  }
  SECTION("O_DIRECT offset not a multiple of the logical block size") {
    CHECK(run_one(*engine, {IoOp::write, fd, data, block, 100, 4}) == -EINVAL);
  }
  SECTION("failures in the middle of a batch do not disturb their neighbours") {
    // libaio rejects some of these inside io_submit itself; the rest of the batch must still go.
    const std::array<IoRequest, 5> batch{{
        {IoOp::read, fd, data, block, 0, 10},
        {IoOp::read, -1, data + block, block, 0, 11},
        {IoOp::read, fd, data + 2 * size_t{block}, block, block, 12},
        {IoOp::write, read_only.fd(), data + 3 * size_t{block}, block, 0, 13},
        {IoOp::read, fd, data + 3 * size_t{block}, block, 2 * uint64_t{block}, 14},
    }};
    REQUIRE(engine->submit(batch) == batch.size());
    auto done = reap_all(*engine, batch.size());
    CHECK(done[0].result == static_cast<int32_t>(block));
    CHECK(done[1].result == -EBADF);
    CHECK(done[2].result == static_cast<int32_t>(block));
    CHECK(done[3].result == -EBADF);
    CHECK(done[4].result == static_cast<int32_t>(block));
  }
  // Whatever failed, the engine keeps working.
  check_roundtrip(*engine, scratch.volume, 5);
}

TEST_CASE("engine reap returns when nothing is in flight", "[io_engine]") {
  EngineKind kind = each_engine();
  INFO("engine " << blockxport::engine_kind_name(kind));
  auto engine = engine_or_skip(kind);
  if (!engine) return;
  std::array<IoCompletion, 4> out{};
  CHECK(engine->reap(out, 0ns) == 0);
  CHECK(engine->reap(out, 50ms) == 0);
  CHECK(engine->in_flight() == 0);
}

TEST_CASE("io_uring reap waits for an unfinished request only up to the timeout", "[io_engine]") {
  // A pipe read stays in flight until someone writes, which no disk request can be made to do;
  // aio and the sync engine cannot read pipes asynchronously, so this one is io_uring's alone.
  auto engine = engine_or_skip(EngineKind::io_uring);
  if (!engine) return;
  int pipe_fds[2];
  REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
  char byte = 0;
  REQUIRE(engine->submit(std::array{IoRequest{IoOp::read, pipe_fds[0], &byte, 1, UINT64_MAX, 42}}) == 1);
  std::array<IoCompletion, 4> out{};
  CHECK(engine->reap(out, 20ms) == 0);
  CHECK(engine->in_flight() == 1);
  REQUIRE(::write(pipe_fds[1], "x", 1) == 1);
  size_t got = 0;
  for (int attempt = 0; got == 0 && attempt < 50; ++attempt) got = engine->reap(out, 100ms);
  REQUIRE(got == 1);
  CHECK(out[0].tag == 42);
  CHECK(out[0].result == 1);
  CHECK(byte == 'x');

  SECTION("destroying the engine cancels what is still in flight") {
    char other = 0;
    REQUIRE(engine->submit(std::array{IoRequest{IoOp::read, pipe_fds[0], &other, 1, UINT64_MAX, 43}}) == 1);
    engine.reset();  // must return, and the read must never land in `other` afterwards
    REQUIRE(::write(pipe_fds[1], "y", 1) == 1);
    char drained = 0;
    CHECK(::read(pipe_fds[0], &drained, 1) == 1);
    CHECK(drained == 'y');
    CHECK(other == 0);
  }
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

TEST_CASE("engine round-trips a batch of blocks on a loop device", "[io_engine][loop]") {
  EngineKind kind = each_engine();
  INFO("engine " << blockxport::engine_kind_name(kind));
  if (auto reason = vnic_test::LoopDevice::unavailable_reason()) VNIC_SKIP(*reason);
  auto engine = engine_or_skip(kind);
  if (!engine) return;
  vnic_test::TempFile file(4 << 20, "loop");
  vnic_test::LoopDevice loop(file.path());
  Volume volume = Volume::open(loop.path(), {VolumeAccess::read_write, false});
  REQUIRE(volume.is_block_device());
  check_roundtrip(*engine, volume, 11);
}

namespace {

sock_filter bpf_statement(uint16_t code, uint32_t k) { return sock_filter{code, 0, 0, k}; }
sock_filter bpf_jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { return sock_filter{code, jt, jf, k}; }

// Makes the listed system calls fail with `error` in this process, the way a container's seccomp
// profile blocks io_uring: the most common reason the fallback is needed at all.
bool block_syscalls(std::initializer_list<long> numbers, int error) {
#if defined(__x86_64__)
  constexpr uint32_t arch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
  constexpr uint32_t arch = AUDIT_ARCH_AARCH64;
#else
  return false;
#endif
  std::vector<sock_filter> filter;
  filter.push_back(bpf_statement(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
  filter.push_back(bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0));
  filter.push_back(bpf_statement(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  filter.push_back(bpf_statement(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
  for (long number : numbers) {
    filter.push_back(bpf_jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(number), 0, 1));
    filter.push_back(
        bpf_statement(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<uint32_t>(error) & SECCOMP_RET_DATA)));
  }
  filter.push_back(bpf_statement(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  sock_fprog program{static_cast<unsigned short>(filter.size()), filter.data()};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

std::string setup_error(EngineKind kind) {
  try {
    blockxport::make_io_engine(kind, {});
  } catch (const IoEngineError& error) {
    return error.what();
  }
  return "no error";
}

// Runs in a forked child because seccomp filters cannot be removed; returns "ok" or what broke.
std::string check_fallback_under_seccomp() {
  if (!block_syscalls({__NR_io_uring_setup}, EPERM)) return "cannot install a seccomp filter";
  std::string error = setup_error(EngineKind::io_uring);
  if (error.find("io_uring") == std::string::npos || error.find(std::strerror(EPERM)) == std::string::npos) {
    return "io_uring error does not name the engine and errno: " + error;
  }
  std::string name(blockxport::make_io_engine(EngineKind::automatic, {})->name());
  if (name != "libaio") return "with io_uring blocked, auto chose " + name;

  if (!block_syscalls({__NR_io_setup}, ENOSYS)) return "cannot install a second seccomp filter";
  error = setup_error(EngineKind::libaio);
  if (error.find("libaio") == std::string::npos || error.find(std::strerror(ENOSYS)) == std::string::npos) {
    return "libaio error does not name the engine and errno: " + error;
  }
  name = blockxport::make_io_engine(EngineKind::automatic, {})->name();
  if (name != "sync") return "with io_uring and aio blocked, auto chose " + name;
  return "ok";
}

}  // namespace

TEST_CASE("automatic falls back past engines the kernel refuses", "[io_engine]") {
  if (engine_unavailable(EngineKind::io_uring) || engine_unavailable(EngineKind::libaio)) {
    VNIC_SKIP("needs io_uring and aio to start with");
  }
  vnic_tools::ForkedRun run = vnic_tools::run_forked([](int out) {
    std::string result = check_fallback_under_seccomp();
    ssize_t ignored = ::write(out, result.data(), result.size());
    (void)ignored;
  });
  CHECK(run.exit_code == 0);
  std::string result = run.out;
  CHECK(result == "ok");
}

TEST_CASE("the completion eventfd wakes a poll loop when I/O completes", "[engine]") {
  auto kind = GENERATE(blockxport::EngineKind::io_uring, blockxport::EngineKind::libaio);
  auto engine = blockxport::make_io_engine(kind, {8, false});
  REQUIRE(engine->completion_fd() >= 0);
  vnic_test::TempFile file(1 << 20);
  auto volume = blockxport::Volume::open(file.path(), {blockxport::VolumeAccess::read_only, false});
  blockxport::AlignedBuffer buffer(4096, 4096);
  blockxport::IoRequest read{blockxport::IoOp::read, volume.fd(), buffer.data(), 4096, 0, 7};
  REQUIRE(engine->submit(std::span(&read, 1)) == 1);
  pollfd p{engine->completion_fd(), POLLIN, 0};
  REQUIRE(::poll(&p, 1, 5000) == 1);
  engine->drain_completion_fd();
  std::array<blockxport::IoCompletion, 4> done;
  size_t n = engine->reap(done, std::chrono::seconds(1));
  REQUIRE(n == 1);
  CHECK(done[0].tag == 7);
  CHECK(done[0].result == 4096);
  // Drained and nothing in flight: the fd is quiet again.
  CHECK(::poll(&p, 1, 0) == 0);
}

TEST_CASE("io_uring does I/O through registered memory as fixed buffers; other engines decline", "[io_engine]") {
  EngineKind kind = each_engine();
  INFO("engine " << blockxport::engine_kind_name(kind));
  auto engine = engine_or_skip(kind);
  if (!engine) return;
  ScratchVolume scratch(1 << 20);
  const uint32_t block = io_block_size(scratch.volume);
  AlignedBuffer arena(8 * size_t{block}, block);
  bool registered = engine->register_memory(arena.span());
  CHECK(registered == (kind == EngineKind::io_uring));
  std::vector<IoRequest> writes;
  for (unsigned i = 0; i < 4; ++i) {
    fill_pattern(arena.data() + size_t{i} * block, block, 70 + i);
    writes.push_back({IoOp::write, scratch.volume.fd(), arena.data() + size_t{i} * block, block, uint64_t{i} * block, i});
  }
  REQUIRE(engine->submit(writes) == 4);
  for (const auto& c : reap_all(*engine, 4)) CHECK(c.result == static_cast<int32_t>(block));
  std::vector<IoRequest> reads;
  for (unsigned i = 0; i < 4; ++i)
    reads.push_back({IoOp::read, scratch.volume.fd(), arena.data() + size_t{4 + i} * block, block, uint64_t{i} * block, 10 + i});
  REQUIRE(engine->submit(reads) == 4);
  for (const auto& c : reap_all(*engine, 4)) CHECK(c.result == static_cast<int32_t>(block));
  CHECK(std::memcmp(arena.data(), arena.data() + size_t{4} * block, size_t{4} * block) == 0);
  CHECK(engine->fixed_requests() == (registered ? 8u : 0u));
  // Unregistered, the same memory still works, the plain way.
  engine->unregister_memory(arena.span());
  CHECK(run_one(*engine, reads[0]) == static_cast<int32_t>(block));
  CHECK(engine->fixed_requests() == (registered ? 8u : 0u));
  // A request reaching past a registered region is not made fixed (the kernel would refuse it).
  AlignedBuffer two(2 * size_t{block}, block);
  if (engine->register_memory(two.span().first(block))) {
    IoRequest across{IoOp::read, scratch.volume.fd(), two.data(), 2 * block, 0, 99};
    CHECK(run_one(*engine, across) == static_cast<int32_t>(2 * block));
    CHECK(engine->fixed_requests() == 8);
    engine->unregister_memory(two.span().first(block));
  }
}
