// vnicctl format, run as a user would: what it writes, and what it refuses to touch.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/tools/support/scratch_dir.h"
#include "tests/tools/support/tools_under_test.h"

using namespace tools_test;

namespace {

// The uuid in format's summary line ("... uuid XXXXXXXX-..., block size ...").
std::string uuid_in(const std::string& summary) {
  auto at = summary.find("uuid ");
  return at == std::string::npos ? std::string() : summary.substr(at + 5, 36);
}

}  // namespace

TEST_CASE("format creates a volume and inspect --json shows what it wrote", "[vnicctl][format]") {
  tools_test::ScratchDir dir;
  std::string volume = dir.path("new.vol");

  vnic_tools::CapturedRun format = vnicctl({"format", volume, "--size", "16M", "--block-size", "64K", "--label", "tools-test"});
  INFO(format.describe());
  REQUIRE(format.exit_code == 0);
  CHECK(is_one_line(format.out));
  CHECK(format.err.empty());
  CHECK(tools_test::file_size(volume) == 16 * kMiB);
  std::string uuid = uuid_in(format.out);
  CHECK(uuid.size() == 36);

  vnic_tools::CapturedRun inspect = vnicctl({"inspect", volume, "--json"});
  INFO(inspect.describe());
  REQUIRE(inspect.exit_code == 0);
  CHECK(inspect.err.empty());
  auto report = nlohmann::json::parse(inspect.out);
  const auto& sb = report.at("superblock");
  CHECK(sb.at("uuid") == uuid);
  CHECK(sb.at("format_version") == 1);
  CHECK(sb.at("label") == "tools-test");
  CHECK(sb.at("block_size") == 65536);
  CHECK(sb.at("slot_count") == 1);
  CHECK(sb.at("ring_blocks") == (16 * kMiB - 65536) / 65536);  // the ring fills the volume
  CHECK(sb.at("rings_offset") == 65536);
  CHECK(sb.at("created").get<std::string>().back() == 'Z');
  CHECK(report.at("volume_bytes") == 16 * kMiB);
  CHECK(report.at("backing").get<std::string>().rfind("file", 0) == 0);
  REQUIRE(report.at("slots").size() == 1);
  CHECK(report.at("slots")[0].at("state") == "empty");
}

TEST_CASE("format honours --slots and --ring-blocks", "[vnicctl][format]") {
  tools_test::ScratchDir dir;
  std::string volume = dir.path("slots.vol");
  vnic_tools::CapturedRun format =
      vnicctl({"format", volume, "--size", "8M", "--block-size", "4K", "--slots", "3", "--ring-blocks", "100"});
  INFO(format.describe());
  REQUIRE(format.exit_code == 0);
  auto report = nlohmann::json::parse(vnicctl({"inspect", volume, "--json"}).out);
  CHECK(report.at("superblock").at("slot_count") == 3);
  CHECK(report.at("superblock").at("ring_blocks") == 100);
  CHECK(report.at("slots").size() == 3);
}

TEST_CASE("format refuses a file with data in its first MiB and leaves it unchanged", "[vnicctl][format]") {
  tools_test::ScratchDir dir;
  std::string volume = dir.path("data.vol");
  std::vector<char> original(4 * kMiB, 0);
  original[700 * 1024] = 42;  // one byte of someone's data, deep in the first MiB
  tools_test::write_file(volume, original);

  vnic_tools::CapturedRun result = vnicctl({"format", volume, "--block-size", "64K"});
  INFO(result.describe());
  CHECK(result.exit_code == 1);
  CHECK(result.out.empty());
  CHECK(is_one_line(result.err));
  CHECK(result.err.rfind("vnicctl: " + volume + ": ", 0) == 0);
  CHECK_THAT(result.err, Catch::Contains("first MiB") && Catch::Contains("--force"));
  CHECK(read_file(volume) == original);

  SECTION("also when --size would have grown it: the growth is undone") {
    vnic_tools::CapturedRun grown = vnicctl({"format", volume, "--block-size", "64K", "--size", "16M"});
    INFO(grown.describe());
    CHECK(grown.exit_code == 1);
    CHECK(is_one_line(grown.err));
    CHECK(read_file(volume) == original);
  }
  SECTION("--force overwrites it") {
    vnic_tools::CapturedRun forced = vnicctl({"format", volume, "--block-size", "64K", "--force"});
    INFO(forced.describe());
    CHECK(forced.exit_code == 0);
    CHECK(vnicctl({"inspect", volume}).exit_code == 0);
  }
}

TEST_CASE("format refuses a vnic volume without --force", "[vnicctl][format]") {
  tools_test::ScratchDir dir;
  std::string volume = dir.path("vnic.vol");
  vnic_tools::CapturedRun first = vnicctl({"format", volume, "--size", "4M", "--block-size", "64K"});
  REQUIRE(first.exit_code == 0);
  std::vector<char> formatted = read_file(volume);

  vnic_tools::CapturedRun again = vnicctl({"format", volume, "--block-size", "4K"});
  INFO(again.describe());
  CHECK(again.exit_code == 1);
  CHECK(is_one_line(again.err));
  CHECK_THAT(again.err, Catch::Contains(volume) && Catch::Contains("vnic volume") && Catch::Contains("--force"));
  CHECK(read_file(volume) == formatted);

  vnic_tools::CapturedRun forced = vnicctl({"format", volume, "--block-size", "4K", "--force"});
  INFO(forced.describe());
  CHECK(forced.exit_code == 0);
  CHECK(uuid_in(forced.out) != uuid_in(first.out));
}

TEST_CASE("format rejects a bad block size with one line and touches nothing", "[vnicctl][format]") {
  tools_test::ScratchDir dir;
  std::string volume = dir.path("bad.vol");
  std::vector<char> zeros(4 * kMiB, 0);
  tools_test::write_file(volume, zeros);
  std::string missing = dir.path("missing.vol");

  for (std::string size : {"3000", "2M", "64X", "0"}) {
    vnic_tools::CapturedRun result = vnicctl({"format", volume, "--block-size", size});
    INFO(size << ": " << result.describe());
    CHECK(result.exit_code == 2);
    CHECK(is_one_line(result.err));
    CHECK_THAT(result.err, Catch::Contains("--block-size") && Catch::Contains(volume));
    CHECK(read_file(volume) == zeros);

    vnic_tools::CapturedRun create = vnicctl({"format", missing, "--block-size", size, "--size", "4M"});
    CHECK(create.exit_code == 2);
    CHECK_FALSE(tools_test::file_exists(missing));
  }
}

TEST_CASE("format --size creates, grows, never shrinks, and cleans up after a failure", "[vnicctl][format]") {
  tools_test::ScratchDir dir;

  SECTION("a missing volume without --size is an error that says how to create it") {
    std::string missing = dir.path("missing.vol");
    vnic_tools::CapturedRun result = vnicctl({"format", missing, "--block-size", "64K"});
    CHECK(result.exit_code == 1);
    CHECK(is_one_line(result.err));
    CHECK_THAT(result.err, Catch::Contains("no such file") && Catch::Contains("--size"));
    CHECK_FALSE(tools_test::file_exists(missing));
  }
  SECTION("a created file is removed when the format fails") {
    std::string small = dir.path("small.vol");
    vnic_tools::CapturedRun result = vnicctl({"format", small, "--block-size", "64K", "--size", "128K"});
    INFO(result.describe());
    CHECK(result.exit_code == 1);
    CHECK(is_one_line(result.err));
    CHECK_THAT(result.err, Catch::Contains("too small"));
    CHECK_FALSE(tools_test::file_exists(small));
  }
  SECTION("a smaller blank file is grown") {
    std::string grow = dir.path("grow.vol");
    tools_test::write_file(grow, std::vector<char>(kMiB, 0));
    vnic_tools::CapturedRun result = vnicctl({"format", grow, "--block-size", "64K", "--size", "8M"});
    INFO(result.describe());
    CHECK(result.exit_code == 0);
    CHECK(tools_test::file_size(grow) == 8 * kMiB);
  }
  SECTION("a larger file is not shrunk") {
    std::string big = dir.path("big.vol");
    std::vector<char> zeros(8 * kMiB, 0);
    tools_test::write_file(big, zeros);
    vnic_tools::CapturedRun result = vnicctl({"format", big, "--block-size", "64K", "--size", "4M"});
    INFO(result.describe());
    CHECK(result.exit_code == 1);
    CHECK(is_one_line(result.err));
    CHECK_THAT(result.err, Catch::Contains("shrink"));
    CHECK(read_file(big) == zeros);
  }
}

TEST_CASE("vnicctl usage errors exit 2 with one line", "[vnicctl]") {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{},
                                             {"format"},
                                             {"format", "/var/tmp/x.vol"},
                                             {"format", "/var/tmp/x.vol", "--block-size", "64K", "--bogus"},
                                             {"format", "/var/tmp/x.vol", "--block-size", "64K", "--slots", "65"},
                                             {"inspect", "/var/tmp/x.vol", "--blocks", "-1"}}) {
    vnic_tools::CapturedRun result = vnicctl(args);
    INFO(result.describe());
    CHECK(result.exit_code == 2);
    CHECK(is_one_line(result.err));
    CHECK(result.err.rfind("vnicctl: ", 0) == 0);
  }
  vnic_tools::CapturedRun help = vnicctl({"format", "--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Contains("--size") && Catch::Contains("--force"));
}
