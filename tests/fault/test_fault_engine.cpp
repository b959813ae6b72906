// The VNIC_FAULT_INJECT seam: what it parses, and that a failed request is not done at all, a
// short one is really done short, an outage fails everything, and the rest reach the volume.
#include <array>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "blockxport/aligned_buffer.h"
#include "blockxport/io_engine.h"
#include "blockxport/io_engine_fault.h"
#include "blockxport/volume.h"
#include "tests/support/temp_file.h"

using namespace blockxport;

namespace {

constexpr uint32_t kLength = 64 * 1024;

IoCompletion run_one(IoEngine& engine, const IoRequest& request) {
  REQUIRE(engine.submit(std::span(&request, 1)) == 1);
  std::array<IoCompletion, 1> done;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (engine.reap(done, std::chrono::milliseconds(10)) == 0) REQUIRE(std::chrono::steady_clock::now() < deadline);
  return done[0];
}

struct Rig {
  vnic_test::TempFile file{1 << 20, "fault-engine"};
  Volume volume = Volume::open(file.path(), {VolumeAccess::read_write, false});
  AlignedBuffer pattern{kLength, 4096};
  AlignedBuffer back{kLength, 4096};

  Rig() {
    for (size_t i = 0; i < kLength; ++i) pattern.data()[i] = std::byte(i * 7 + 1);
  }
  IoRequest write() { return {IoOp::write, volume.fd(), pattern.data(), kLength, 0, 1}; }
  IoRequest read() { return {IoOp::read, volume.fd(), back.data(), kLength, 0, 2}; }
  size_t bytes_on_volume_matching() {
    AlignedBuffer check(kLength, 4096);
    volume.read_exact(check.data(), kLength, 0);
    size_t same = 0;
    while (same < kLength && check.data()[same] == pattern.data()[same]) ++same;
    return same;
  }
};

}  // namespace

TEST_CASE("fault spec: keys and values are checked") {
  auto f =
      parse_fault_injection("read_eio=0.5,write_eio=1,short_read=0,short_write=0.25,seed=9,after=3,outage_file=/x");
  CHECK(f.read_eio == 0.5);
  CHECK(f.write_eio == 1.0);
  CHECK(f.short_write == 0.25);
  CHECK(f.seed == 9);
  CHECK(f.after == 3);
  CHECK(f.outage_file == "/x");
  CHECK_THROWS_AS(parse_fault_injection("read_eio=2"), IoEngineError);
  CHECK_THROWS_AS(parse_fault_injection("write_eio=often"), IoEngineError);
  CHECK_THROWS_AS(parse_fault_injection("bogus=1"), IoEngineError);
  CHECK_THROWS_AS(parse_fault_injection("seed"), IoEngineError);
}

TEST_CASE("fault engine: off unless the environment asks") {
  ::unsetenv(kFaultInjectEnv);
  auto engine = make_io_engine(EngineKind::sync, {4, false});
  CHECK(engine->name() == "sync");
  ::setenv(kFaultInjectEnv, "read_eio=0.1", 1);
  auto wrapped = make_io_engine(EngineKind::sync, {4, false});
  ::unsetenv(kFaultInjectEnv);
  CHECK(wrapped->name() == "sync+faults");
}

TEST_CASE("fault engine: a failed write writes nothing, a short one writes its first part") {
  for (auto kind : {EngineKind::sync, EngineKind::automatic}) {
    Rig rig;
    FaultInjection eio;
    eio.write_eio = 1;
    auto failing = make_fault_engine(make_io_engine(kind, {4, false}), eio);
    CHECK(run_one(*failing, rig.write()).result == -EIO);
    CHECK(rig.bytes_on_volume_matching() == 0);

    FaultInjection shorten;
    shorten.short_write = 1;
    auto short_engine = make_fault_engine(make_io_engine(kind, {4, false}), shorten);
    int32_t result = run_one(*short_engine, rig.write()).result;
    CHECK(result > 0);
    CHECK(result < static_cast<int32_t>(kLength));
    CHECK(result % 4096 == 0);
    CHECK(rig.bytes_on_volume_matching() == static_cast<size_t>(result));
  }
}

TEST_CASE("fault engine: after N requests, and an outage file fails everything while it exists") {
  Rig rig;
  FaultInjection f;
  f.read_eio = 1;
  f.after = 2;
  f.outage_file = rig.file.path() + ".outage";
  auto engine = make_fault_engine(make_io_engine(EngineKind::sync, {4, false}), f);
  CHECK(run_one(*engine, rig.write()).result == static_cast<int32_t>(kLength));
  CHECK(run_one(*engine, rig.read()).result == static_cast<int32_t>(kLength));
  CHECK(run_one(*engine, rig.read()).result == -EIO);  // the third request: faults on
  std::ofstream(f.outage_file).put('x');
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // looked for every 5 ms
  CHECK(run_one(*engine, rig.write()).result == -EIO);
  std::remove(f.outage_file.c_str());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(run_one(*engine, rig.write()).result == static_cast<int32_t>(kLength));
}

TEST_CASE("fault engine: a bad-read file fails the reads that touch its range, and no write") {
  Rig rig;
  FaultInjection f = parse_fault_injection("bad_read_file=" + rig.file.path() + ".bad");
  CHECK(f.bad_read_file == rig.file.path() + ".bad");
  auto engine = make_fault_engine(make_io_engine(EngineKind::sync, {4, false}), f);
  CHECK(run_one(*engine, rig.read()).result == static_cast<int32_t>(kLength));  // no file: no bad place
  auto bad_place = [&](uint64_t offset, uint64_t length) {
    std::ofstream(f.bad_read_file) << offset << " " << length << "\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // looked at every 5 ms
  };
  bad_place(kLength - 512, 512);  // the read's last sector
  CHECK(run_one(*engine, rig.read()).result == -EIO);
  CHECK(run_one(*engine, rig.write()).result == static_cast<int32_t>(kLength));
  bad_place(kLength, 4096);  // just past it
  CHECK(run_one(*engine, rig.read()).result == static_cast<int32_t>(kLength));
  std::remove(f.bad_read_file.c_str());
}
