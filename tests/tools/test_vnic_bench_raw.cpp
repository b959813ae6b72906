// vnic-bench raw on a small real volume: every frame comes back, the JSON is the only output,
// and bad volumes are refused without being touched.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <string>
#include <vector>

#include "tests/tools/support/scratch_dir.h"
#include "tests/tools/support/tools_under_test.h"

using namespace tools_test;

TEST_CASE("vnic-bench raw --frames --json delivers every frame and prints only JSON", "[vnic-bench]") {
  tools_test::ScratchDir dir;
  std::string volume = dir.path("bench.vol");
  REQUIRE(vnicctl({"format", volume, "--size", "16M", "--block-size", "64K"}).exit_code == 0);

  // --when-ring-full wait: the writer drops only once a fresh acknowledgement says the ring is
  // full, which a reader that falls a whole 16 MiB ring behind (a slow disk) would; holding the
  // frames instead makes "every frame arrives" a property of the transport, not of disk timing.
  vnic_tools::CapturedRun result = vnic_bench({"raw", "--volume", volume, "--block-size", "64K", "--frames", "20000", "--json",
                                     "--ceiling-duration", "0.5", "--when-ring-full", "wait"});
  INFO(result.describe());
  REQUIRE(result.exit_code == 0);
  nlohmann::json report;
  REQUIRE_NOTHROW(report = nlohmann::json::parse(result.out));  // throws on anything after the JSON
  CHECK(report.at("ratio_to_ceiling").get<double>() > 0);
  CHECK(report.at("ok") == true);
  const auto& vnic = report.at("vnic");
  CHECK(vnic.at("frames_sent") == 20000);
  CHECK(vnic.at("frames_delivered") == vnic.at("frames_sent"));
  CHECK(vnic.at("frames_dropped") == 0);
  CHECK(report.at("checks").at("corrupt") == 0);
  CHECK(report.at("ceiling").at("bytes_per_second").get<double>() > 0);
  CHECK(report.at("latency").at("end_to_end").at("count") == 20000);
  for (const char* key :
       {"config", "vnic", "ceiling", "rw_ceiling", "read_ceiling", "rounds", "latency", "drops", "reader"})
    CHECK(report.contains(key));

  // Three rounds by default with --frames, the frames shared out among them; the headline ratio
  // is the median of the rounds' own ratios, each against the ceiling measured in that round.
  const auto& rounds = report.at("rounds");
  REQUIRE(rounds.size() == 3);
  uint64_t frames = 0;
  std::vector<double> ratios;
  for (const auto& round : rounds) {
    frames += round.at("frames").get<uint64_t>();
    CHECK(round.at("ceiling_bytes_per_second").get<double>() > 0);
    CHECK(round.at("rw_ceiling_bytes_per_second").get<double>() > 0);
    CHECK(round.at("read_ceiling_bytes_per_second").get<double>() > 0);
    double ratio = round.at("ratio_to_ceiling").get<double>();
    CHECK(ratio ==
          Approx(round.at("vnic_bytes_per_second").get<double>() / round.at("ceiling_bytes_per_second").get<double>()));
    ratios.push_back(ratio);
  }
  CHECK(frames == 20000);
  std::sort(ratios.begin(), ratios.end());
  CHECK(report.at("ratio_to_ceiling").get<double>() == Approx(ratios[1]));
  CHECK(report.at("ratio_to_rw_ceiling").get<double>() > 0);
  CHECK(report.at("config").at("rounds") == 3);

  // The run leaves a volume inspect still accepts, with the writer's clean stop recorded.
  auto inspected = nlohmann::json::parse(vnicctl({"inspect", volume, "--json"}).out);
  CHECK(inspected.at("slots")[0].at("status") == "clean stop");
}

TEST_CASE("vnic-bench raw formats a blank volume and refuses a foreign one", "[vnic-bench]") {
  tools_test::ScratchDir dir;

  SECTION("a missing volume") {
    vnic_tools::CapturedRun result = vnic_bench({"raw", "--volume", dir.path("missing.vol"), "--frames", "10"});
    INFO(result.describe());
    CHECK(result.exit_code == 1);
    CHECK(is_one_line(result.err));
    CHECK_THAT(result.err, Catch::StartsWith("vnic-bench: ") && Catch::Contains("no such file"));
  }
  SECTION("a blank volume is formatted with the asked block size") {
    std::string volume = dir.path("blank.vol");
    tools_test::write_file(volume, std::vector<char>(4 * kMiB, 0));
    vnic_tools::CapturedRun result = vnic_bench({"raw", "--volume", volume, "--block-size", "16K", "--frames", "2000", "--json",
                                       "--ceiling-duration", "0.2", "--when-ring-full", "wait"});
    INFO(result.describe());
    REQUIRE(result.exit_code == 0);
    auto report = nlohmann::json::parse(result.out);
    CHECK(report.at("config").at("formatted_now") == true);
    CHECK(report.at("config").at("block_size") == 16384);
    CHECK(report.at("vnic").at("frames_delivered") == 2000);
  }
  SECTION("a volume holding other data is left alone without --format") {
    std::string volume = dir.path("foreign.vol");
    std::vector<char> original = tools_test::random_bytes(4 * kMiB, 11);
    tools_test::write_file(volume, original);
    vnic_tools::CapturedRun result = vnic_bench({"raw", "--volume", volume, "--frames", "10"});
    INFO(result.describe());
    CHECK(result.exit_code == 1);
    CHECK(result.out.empty());
    CHECK(is_one_line(result.err));
    CHECK_THAT(result.err, Catch::Contains(volume) && Catch::Contains("--format"));
    CHECK(read_file(volume) == original);
  }
  SECTION("a vnic volume with another block size is left alone without --format") {
    std::string volume = dir.path("other.vol");
    REQUIRE(vnicctl({"format", volume, "--size", "4M", "--block-size", "4K"}).exit_code == 0);
    std::vector<char> original = read_file(volume);
    vnic_tools::CapturedRun result = vnic_bench({"raw", "--volume", volume, "--block-size", "64K", "--frames", "10"});
    INFO(result.describe());
    CHECK(result.exit_code == 1);
    CHECK(is_one_line(result.err));
    CHECK_THAT(result.err, Catch::Contains("4 KiB") && Catch::Contains("--format"));
    CHECK(read_file(volume) == original);
  }
}

TEST_CASE("vnic-bench usage errors exit 2 with one line", "[vnic-bench]") {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"raw"},
                                             {"raw", "--volume", "/var/tmp/x.vol", "--frames", "10", "--duration", "1"},
                                             {"raw", "--volume", "/var/tmp/x.vol", "--io-engine", "floppy"},
                                             {"raw", "--volume", "/var/tmp/x.vol", "--frame-size", "8"},
                                             {"raw", "--volume", "/var/tmp/x.vol", "--block-size", "3000"},
                                             {"raw", "--volume", "/var/tmp/x.vol", "--when-ring-full", "sometimes"},
                                             {"raw", "--volume", "/var/tmp/x.vol", "--rounds", "0"},
                                             {"raw", "--volume", "/var/tmp/x.vol", "--max-read", "1K"}}) {
    vnic_tools::CapturedRun result = vnic_bench(args);
    INFO(result.describe());
    CHECK(result.exit_code == 2);
    CHECK(is_one_line(result.err));
    CHECK(result.err.rfind("vnic-bench: ", 0) == 0);
  }
}
