// vnicctl inspect: a clear one-line refusal for anything that is not a usable vnic volume, and
// never a write.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <atomic>
#include <filesystem>
#include <thread>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "blockxport/aligned_buffer.h"
#include "blockxport/format.h"
#include "blockxport/volume.h"
#include "blockxport/volume_check.h"
#include "tests/tools/support/scratch_dir.h"
#include "tests/tools/support/tools_under_test.h"

using namespace tools_test;

namespace {

void check_refused(const std::string& volume, const std::string& why) {
  bool existed = tools_test::file_exists(volume);
  bool regular = std::filesystem::is_regular_file(volume);
  std::vector<char> before = regular ? read_file(volume) : std::vector<char>();
  for (bool json : {false, true}) {
    std::vector<std::string> args{"inspect", volume};
    if (json) args.push_back("--json");
    vnic_tools::CapturedRun result = vnicctl(args);
    INFO(result.describe());
    CHECK(result.exit_code == 1);
    CHECK(result.out.empty());
    CHECK(is_one_line(result.err));
    CHECK(result.err.rfind("vnicctl: " + volume + ": ", 0) == 0);
    CHECK_THAT(result.err, Catch::Contains(why));
  }
  CHECK(tools_test::file_exists(volume) == existed);
  if (regular) CHECK(read_file(volume) == before);
}

}  // namespace

TEST_CASE("inspect refuses what is not a usable vnic volume", "[vnicctl][inspect]") {
  tools_test::ScratchDir dir;

  SECTION("a missing file") { check_refused(dir.path("missing.vol"), "no such file"); }
  SECTION("an all-zero file") {
    std::string volume = dir.path("zero.vol");
    tools_test::write_file(volume, std::vector<char>(2 * kMiB, 0));
    check_refused(volume, "not formatted");
  }
  SECTION("a file of random bytes") {
    std::string volume = dir.path("random.vol");
    tools_test::write_file(volume, tools_test::random_bytes(2 * kMiB, 7));
    check_refused(volume, "not a vnic volume (bad superblock magic)");
  }
  SECTION("a truncated volume") {
    std::string volume = dir.path("truncated.vol");
    REQUIRE(vnicctl({"format", volume, "--size", "8M", "--block-size", "64K"}).exit_code == 0);
    tools_test::truncate_file(volume, 3 * kMiB);
    check_refused(volume, "truncated");
  }
  SECTION("a file too small for a superblock") {
    std::string volume = dir.path("tiny.vol");
    tools_test::write_file(volume, tools_test::random_bytes(100, 3));
    check_refused(volume, "too small");
  }
  SECTION("a directory") { check_refused(dir.path(""), "not a regular file or block device"); }
}

TEST_CASE("inspect never writes to the volume", "[vnicctl][inspect]") {
  tools_test::ScratchDir dir;
  std::string volume = dir.path("ro.vol");
  REQUIRE(vnicctl({"format", volume, "--size", "4M", "--block-size", "4K"}).exit_code == 0);
  std::vector<char> before = read_file(volume);
  struct stat st_before {};
  ::stat(volume.c_str(), &st_before);

  vnic_tools::CapturedRun text = vnicctl({"inspect", volume, "--blocks", "100"});
  INFO(text.describe());
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("slot 0") && Catch::Contains("free (never written)"));

  struct stat st_after {};
  ::stat(volume.c_str(), &st_after);
  CHECK(read_file(volume) == before);
  CHECK(st_after.st_mtim.tv_sec == st_before.st_mtim.tv_sec);
  CHECK(st_after.st_mtim.tv_nsec == st_before.st_mtim.tv_nsec);
}

TEST_CASE("inspect tells every slot of a shared volume: free, alive, dead or stopped, and whose", "[vnicctl][inspect]") {
  using namespace blockxport;
  tools_test::ScratchDir dir;
  std::string path = dir.path("shared.vol");
  REQUIRE(vnicctl({"format", path, "--size", "8M", "--block-size", "4K", "--slots", "4"}).exit_code == 0);
  Volume volume = Volume::open(path, {VolumeAccess::read_write, false});
  Superblock sb = read_formatted_superblock(volume);
  auto write_record = [&](uint32_t slot, WriterStatus status, const std::string& owner, uint64_t heartbeat) {
    StateRecord r;
    r.version = kStateRecordVersion2;
    r.slot = slot;
    r.uuid = sb.uuid;
    r.epoch = 0x100 + slot;
    r.status = status;
    r.heartbeat = heartbeat;
    r.head_sequence = r.epoch_first_sequence = 1;
    r.owner = owner;
    r.ifname = "vnic0";
    r.started_unix_ns = 1'780'000'000'000'000'000ull;
    AlignedBuffer buffer(kStateRecordStride, 4096);
    encode_state_record(r, buffer.span());
    volume.write_exact(buffer.data(), kStateRecordStride, sb.state_record_offset(slot));
  };
  write_record(1, WriterStatus::running, "crashed-node", 7);
  write_record(2, WriterStatus::clean_stop, "stopped-node", 9);
  std::atomic<bool> stop{false};
  std::thread beating([&] {
    for (uint64_t beat = 1; !stop; ++beat) {
      write_record(0, WriterStatus::running, "live-node", beat);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  vnic_tools::CapturedRun run = vnicctl({"inspect", path, "--json", "--blocks", "0", "--watch-ms", "200"});
  vnic_tools::CapturedRun text = vnicctl({"inspect", path, "--blocks", "0", "--watch-ms", "200"});
  stop = true;
  beating.join();
  INFO(run.describe());
  REQUIRE(run.exit_code == 0);
  auto report = nlohmann::json::parse(run.out);
  const auto& slots = report.at("slots");
  REQUIRE(slots.size() == 4);
  CHECK(slots[0].at("slot_is") == "alive");
  CHECK(slots[0].at("owner") == "live-node");
  CHECK(slots[1].at("slot_is") == "dead");
  CHECK(slots[1].at("owner") == "crashed-node");
  CHECK(slots[2].at("slot_is") == "stopped");
  CHECK(slots[3].at("slot_is") == "free");
  CHECK_THAT(text.out, Catch::Contains("node \"crashed-node\" (vnic0), running since 2026-"));
}
