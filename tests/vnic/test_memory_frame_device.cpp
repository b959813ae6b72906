// The in-memory FrameDevice that data-path tests drive in place of a TAP: it must keep the
// FrameDevice contract the daemon's loop relies on (its fd readable exactly while frames wait).
#include "vnic/memory_frame_device.h"

#include <catch2/catch.hpp>

#include <poll.h>

#include <vector>

namespace {

bool readable(const vnic::MemoryFrameDevice& device) {
  pollfd p{device.fd(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

std::vector<std::byte> frame_of(size_t size, uint8_t fill) { return std::vector<std::byte>(size, std::byte{fill}); }

}  // namespace

TEST_CASE("a memory device hands out what was injected, and its fd is readable exactly while frames wait",
          "[vnic][frame]") {
  vnic::MemoryFrameDevice device("mem0");
  CHECK_FALSE(readable(device));
  device.inject(frame_of(100, 1));
  device.inject(frame_of(200, 2));
  device.inject(frame_of(300, 3));
  CHECK(readable(device));

  vnic::FrameBatch two(2);
  REQUIRE(device.read_batch(two) == 2);  // a full batch leaves the rest queued, still readable
  CHECK(two[0].bytes().size() == 100);
  CHECK(two[1].bytes()[0] == std::byte{2});
  CHECK(readable(device));
  vnic::FrameBatch more(8);
  REQUIRE(device.read_batch(more) == 1);
  CHECK(more[0].bytes().size() == 300);
  CHECK_FALSE(readable(device));
  CHECK(device.read_batch(more) == 0);
  CHECK(device.stats().rx_frames == 3);
  CHECK(device.stats().rx_bytes == 600 - 3 * vnic::kVnetHeaderBytes);

  SECTION("a frame larger than the slot is dropped and counted, not cut short") {
    vnic::FrameBatch small(4, 128);
    device.inject(frame_of(129, 4));
    device.inject(frame_of(128, 5));
    REQUIRE(device.read_batch(small) == 1);
    CHECK(small[0].bytes().size() == 128);
    CHECK(device.stats().rx_truncated == 1);
  }
  SECTION("frames written are kept in order, and the carrier as last set") {
    device.write_batch(more);
    device.write_batch(two);
    auto written = device.take_written();
    REQUIRE(written.size() == 3);
    CHECK(written[0] == frame_of(300, 3));
    CHECK(written[2] == frame_of(200, 2));
    CHECK(device.written_count() == 0);
    CHECK_FALSE(device.carrier());
    device.set_carrier(true);
    CHECK(device.carrier());
    CHECK(device.carrier_sets() == 1);
  }
}
