// Every kind of bad volume gets one clear error naming the file and what is wrong, and the
// volume is left exactly as it was.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "blockxport/crc32c.h"
#include "blockxport/link.h"
#include "blockxport/le.h"
#include "tests/support/skip.h"
#include "link_rig.h"
#include "transport_rig.h"

using namespace blockxport;
using namespace vnic_test;

namespace {

Bytes file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes out(raw.size());
  std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

void patch_file(const std::string& path, uint64_t offset, const void* data, size_t length) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(length));
}

LinkOptions options_for(const std::string& send, const std::string& recv) {
  LinkOptions o;
  o.send_path = send;
  o.recv_path = recv;
  return o;
}

// Opening must fail with a message naming the path and containing `reason`, and change nothing.
void expect_refused(const std::string& path, const LinkOptions& options, const std::string& reason) {
  Bytes before = file_bytes(path);
  try {
    auto link = Link::open(options);
    FAIL("Link::open accepted " << path);
  } catch (const std::exception& e) {
    std::string message = e.what();
    INFO(message);
    CHECK_THAT(message, Catch::Contains(path));
    CHECK_THAT(message, Catch::Contains(reason));
    CHECK(message.find('\n') == std::string::npos);
  }
  CHECK(file_bytes(path) == before);
}

}  // namespace

TEST_CASE("bad send volumes are refused with a clear error and left unchanged", "[volume][bad-input]") {
  TempFile recv(4 << 20, "recv");
  TempFile send(4 << 20, "send");
  FormatOptions format;
  format.block_size = 4096;
  Superblock sb = format_volume(send.path(), format);
  LinkOptions options = options_for(send.path(), recv.path());

  SECTION("all zeros") {
    TempFile zeros(4 << 20, "zeros");
    expect_refused(zeros.path(), options_for(zeros.path(), recv.path()), "not formatted");
  }
  SECTION("random bytes") {
    TempFile noise(1 << 20, "noise");
    std::mt19937_64 rng(3);
    std::vector<uint64_t> words(4096 / 8);
    for (auto& w : words) w = rng();
    patch_file(noise.path(), 0, words.data(), 4096);
    expect_refused(noise.path(), options_for(noise.path(), recv.path()), "not a vnic volume");
  }
  SECTION("wrong magic") {
    patch_file(send.path(), 0, "XXXX", 4);
    expect_refused(send.path(), options, "bad superblock magic");
  }
  SECTION("another format version") {
    uint32_t version = 2;
    patch_file(send.path(), 8, &version, 4);
    expect_refused(send.path(), options, "format version 2 is not supported");
  }
  SECTION("a flipped bit in the superblock") {
    char label_byte = 'Z';
    patch_file(send.path(), 0x50, &label_byte, 1);
    expect_refused(send.path(), options, "checksum mismatch");
  }
  SECTION("block size other than the configuration's") {
    options.expected_block_size = 65536;
    expect_refused(send.path(), options, "formatted with 4096-byte blocks, the configuration says 65536");
  }
  SECTION("truncated") {
    REQUIRE(::truncate(send.path().c_str(), static_cast<off_t>(sb.required_volume_bytes() - 4096)) == 0);
    expect_refused(send.path(), options, "truncated");
  }
  SECTION("missing") {
    options.send_path = "/var/tmp/vnic-test-no-such-volume";
    CHECK_THROWS_WITH(Link::open(options),
                      Catch::Contains("/var/tmp/vnic-test-no-such-volume") && Catch::Contains("no such file"));
  }
  SECTION("read-only") {
    // Root ignores file modes, so make the file immutable instead.
    if (std::system(("chattr +i " + send.path() + " 2>/dev/null").c_str()) != 0) {
      VNIC_SKIP("chattr +i is not supported on " << send.path());
    }
    Bytes before = file_bytes(send.path());
    CHECK_THROWS_WITH(Link::open(options), Catch::Contains(send.path()));
    std::system(("chattr -i " + send.path()).c_str());
    CHECK(file_bytes(send.path()) == before);
  }
  SECTION("the same file and slot for sending and receiving") {
    expect_refused(send.path(), options_for(send.path(), send.path()), "same file and the same slot");
  }
}

TEST_CASE("format refuses what it must not overwrite or cannot hold a ring", "[volume][bad-input]") {
  FormatOptions format;
  format.block_size = 65536;
  SECTION("smaller than one ring") {
    TempFile tiny(256 << 10, "tiny");
    Bytes before = file_bytes(tiny.path());
    CHECK_THROWS_WITH(format_volume(tiny.path(), format), Catch::Contains(tiny.path()) && Catch::Contains("too small"));
    CHECK(file_bytes(tiny.path()) == before);
  }
  SECTION("data in the first MiB") {
    TempFile used(4 << 20, "used");
    patch_file(used.path(), 300000, "precious", 8);
    Bytes before = file_bytes(used.path());
    CHECK_THROWS_WITH(format_volume(used.path(), format), Catch::Contains("holds data in its first MiB"));
    CHECK(file_bytes(used.path()) == before);
    format.force = true;
    CHECK_NOTHROW(format_volume(used.path(), format));
  }
  SECTION("an existing vnic volume") {
    TempFile vol(4 << 20, "vol");
    format.label = "keep me";
    format_volume(vol.path(), format);
    Bytes before = file_bytes(vol.path());
    CHECK_THROWS_WITH(format_volume(vol.path(), format),
                      Catch::Contains("already holds a vnic volume") && Catch::Contains("keep me"));
    CHECK(file_bytes(vol.path()) == before);
  }
  SECTION("block sizes out of range") {
    TempFile vol(4 << 20, "vol");
    for (uint32_t bad : {0u, 3000u, 2048u, 2u << 20}) {
      format.block_size = bad;
      CHECK_THROWS_WITH(format_volume(vol.path(), format), Catch::Contains("block size"));
    }
  }
}

TEST_CASE("a loop device works as a volume", "[volume]") {
  if (auto reason = LoopDevice::unavailable_reason()) VNIC_SKIP(*reason);
  TempFile backing(8 << 20, "loop");
  LoopDevice loop(backing.path(), 4096);
  FormatOptions format;
  format.block_size = 65536;
  Superblock sb = format_volume(loop.path(), format);
  CHECK(sb.ring_blocks == (8 << 20) / 65536 - 1);
  LinkOptions o;
  o.send_path = o.recv_path = loop.path();
  o.allow_loopback = true;
  o.heartbeat_interval = std::chrono::milliseconds(20);
  o.dead_after = std::chrono::milliseconds(100);
  auto link = Link::open(o);
  CHECK(link->send_volume().is_block_device());
  CHECK(link->send_volume().logical_block_size() == 4096);
  CheckingSink sink;
  pump_frames(*link, sink, 0, 200, 9000);
  CHECK(sink.indices.size() == 200);
  CHECK(sink.in_order());
}
