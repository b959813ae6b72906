// vnicctl inspect: a clear one-line refusal for anything that is not a usable vnic volume, and
// never a write.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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
  CHECK_THAT(text.out, Catch::Contains("slot 0") && Catch::Contains("empty"));

  struct stat st_after {};
  ::stat(volume.c_str(), &st_after);
  CHECK(read_file(volume) == before);
  CHECK(st_after.st_mtim.tv_sec == st_before.st_mtim.tv_sec);
  CHECK(st_after.st_mtim.tv_nsec == st_before.st_mtim.tv_nsec);
}
