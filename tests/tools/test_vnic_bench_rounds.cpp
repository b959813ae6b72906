// vnic-bench lab --rounds: how several rounds fold into one report.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <vector>

#include "tools/vnic-bench/lab_rounds.h"
#include "tools/vnic-bench/lab_table.h"
#include "tools/vnic-bench/rtt_histogram.h"

using namespace vnic_bench;
using nlohmann::ordered_json;

namespace {

ordered_json histogram_of(std::initializer_list<uint64_t> samples_ns) {
  RttHistogram h;
  for (uint64_t ns : samples_ns) h.record(ns);
  return h.to_json();
}

// An `end` object with one round's TCP rate and idle p99 for vnic and veth.
ordered_json round_end(double vnic_gbit, double veth_gbit, double vnic_p99, double veth_p99) {
  auto path = [](double gbit, double p99) {
    return ordered_json{{"results", {{"tcp_1stream", {{"gbit_per_s", gbit}}}, {"rr_idle", {{"rtt", {{"p99_us", p99}}}}}}}};
  };
  return {{"paths", {{"vnic", path(vnic_gbit, vnic_p99)}, {"veth", path(veth_gbit, veth_p99)}}},
          {"floor", {{"write_read", {{"p99_us", 100.0}}}}}};
}

}  // namespace

TEST_CASE("an odd number of rounds gives each figure its middle round's own value", "[vnic-bench][rounds]") {
  std::vector<ordered_json> rounds = {
      {{"tcp", {{"gbit_per_s", 3.0}, {"attempts", 1}, {"streams", 4}}}, {"label", "first"}},
      {{"tcp", {{"gbit_per_s", 1.0}, {"attempts", 3}, {"streams", 4}}}, {"label", "second"}},
      {{"tcp", {{"gbit_per_s", 2.0}, {"attempts", 2}, {"streams", 4}}}, {"label", "third"}},
  };
  ordered_json folded = median_of_rounds(rounds);
  CHECK(folded["tcp"]["gbit_per_s"] == 2.0);
  CHECK(folded["tcp"]["attempts"] == 2);
  CHECK(folded["tcp"]["attempts"].is_number_integer());  // a round's own value, type and all
  CHECK(folded["tcp"]["streams"] == 4);
  CHECK(folded["label"] == "first");  // not a number: the first round's
  CHECK(folded.begin().key() == "tcp");  // keys keep the rounds' order
}

TEST_CASE("an even number of rounds averages the two middle ones; missing figures are left out",
          "[vnic-bench][rounds]") {
  std::vector<ordered_json> rounds = {
      {{"p99_us", 400.0}, {"loss", nullptr}},
      {{"p99_us", 100.0}, {"loss", nullptr}},
      {{"p99_us", nullptr}, {"loss", nullptr}, {"late", 7}},
      {{"p99_us", 300.0}, {"loss", nullptr}},
      {{"p99_us", 200.0}, {"loss", nullptr}},
  };
  ordered_json folded = median_of_rounds(rounds);
  CHECK(folded["p99_us"] == Approx(250.0));  // of 100, 200, 300, 400: the round without one is not a zero
  CHECK(folded["loss"].is_null());           // no round has one
  CHECK(folded["late"] == 7);                // a key only one round has is still there
  CHECK(median_of_rounds({}).is_null());
}

TEST_CASE("the rounds' RTT histograms merge into one holding every sample", "[vnic-bench][rounds]") {
  std::vector<ordered_json> rounds = {
      {{"rr_idle", {{"rtt", {{"count", 3}}}, {"histogram", histogram_of({100'000, 200'000, 300'000})}}}},
      {{"rr_idle", {{"rtt", {{"count", 2}}}, {"histogram", histogram_of({5'000'000, 5'000'000})}}}},
  };
  ordered_json folded = median_of_rounds(rounds);
  RttHistogram merged = RttHistogram::from_json(folded["rr_idle"]["histogram"]);
  CHECK(merged.count() == 5);
  auto cdf = merged.cdf();
  REQUIRE(cdf.size() == 4);  // 100, 200, 300 µs and 5 ms
  CHECK(cdf.back().first == Approx(5000).epsilon(0.02));
  CHECK(cdf[2].second == Approx(0.6));
  CHECK(folded["rr_idle"]["rtt"]["count"] == Approx(2.5));
}

TEST_CASE("ratios are taken inside each round, then their median: never a median over a ratio of medians",
          "[vnic-bench][rounds]") {
  // Each round ran on a machine of its own speed. Per round, vnic's idle p99 is 3, 3 and 4 times
  // veth's; the ratio of the medians (600 / 150) would be 4, a pairing that never ran together.
  std::vector<ordered_json> ends = {round_end(4.0, 8.0, 300, 100), round_end(1.0, 2.0, 900, 300),
                                    round_end(2.0, 4.0, 600, 150)};
  ordered_json ratios = ratios_over_rounds(ends);
  REQUIRE(ratios["by_round"].size() == 3);
  CHECK(ratios["by_round"][0]["tcp_1stream"]["vs_veth"] == Approx(0.5));
  CHECK(ratios["by_round"][1]["rr_p99_idle"]["vs_veth"] == Approx(3.0));
  CHECK(ratios["by_round"][2]["rr_p99_idle"]["vs_floor"] == Approx(6.0));
  CHECK(ratios["median"]["tcp_1stream"]["vs_veth"] == Approx(0.5));
  CHECK(ratios["median"]["rr_p99_idle"]["vs_veth"] == Approx(3.0));  // 3, 3, 4
  CHECK(ratios["median"]["tcp_1stream"]["vs_socat"].is_null());      // no socat figures at all
  CHECK(ratios["median"].contains("offload_off"));
}

TEST_CASE("one round folds to itself", "[vnic-bench][rounds]") {
  ordered_json end = round_end(2.5, 10.0, 2952, 80);
  ordered_json only = end["paths"]["vnic"]["results"];
  CHECK(median_of_rounds({only}) == only);
  ordered_json ratios = ratios_over_rounds({end});
  CHECK(ratios["median"] == ratios["by_round"][0]);
  CHECK(ratios["median"]["tcp_1stream"]["vs_veth"] == Approx(0.25));
}

TEST_CASE("the lab table says when its figures are medians of rounds", "[vnic-bench][rounds][table]") {
  auto header_of = [](int rounds) {
    ordered_json report = {
        {"start", {{"kernel", "Linux test"}, {"cpu_count", 2}, {"options", {{"duration_s", 5}, {"rounds", rounds}}}}},
        {"end", round_end(1, 2, 3, 4)}};
    report["ratios"] = ratios_over_rounds({report["end"]})["median"];
    std::string table = format_lab_table(report);
    return table.substr(0, table.find('\n'));
  };
  CHECK_THAT(header_of(3), Catch::Contains("5.00 s per test; medians of 3 interleaved rounds"));
  CHECK_THAT(header_of(1), !Catch::Contains("rounds"));
}
