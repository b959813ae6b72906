// The parts of vnic-bench's network measurements that need no network: iperf3's JSON (real
// outputs of iperf3 3.12 saved in fixtures/, captured over loopback), percentiles, the RTT
// histogram, CPU accounting from /proc text, the lab's ratios and its text table.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tools/vnic-bench/cdf_plot.h"
#include "tools/vnic-bench/cpu_usage.h"
#include "tools/vnic-bench/figure_format.h"
#include "tools/vnic-bench/iperf_json.h"
#include "tools/vnic-bench/iperf_run.h"
#include "tools/vnic-bench/lab_report.h"
#include "tools/vnic-bench/lab_table.h"
#include "tools/vnic-bench/rr_protocol.h"
#include "tools/vnic-bench/rtt_histogram.h"
#include "tools/vnic-bench/rtt_summary.h"
#include "tools/vnic-bench/text_table.h"
#include "tools/vnic-bench/vnic_counters.h"

using namespace vnic_bench;
using nlohmann::ordered_json;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(VNIC_BENCH_FIXTURES) + "/" + name);
  REQUIRE(in);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

}  // namespace

TEST_CASE("iperf3 TCP results come from sum_received", "[vnic-bench][iperf3]") {
  TcpResult one = tcp_result_from(parse_iperf_output(fixture("iperf3_tcp_1stream.json")));
  CHECK(one.streams == 1);
  CHECK(one.gbit_per_s == Approx(11.211178196218996));
  CHECK(one.sender_gbit_per_s == Approx(11.302721098871979));
  CHECK(one.bytes == 1416888320);
  CHECK(one.seconds == Approx(1.011054));
  CHECK(one.retransmits == 4);

  TcpResult four = tcp_result_from(parse_iperf_output(fixture("iperf3_tcp_4streams.json")));
  CHECK(four.streams == 4);
  CHECK(four.gbit_per_s == Approx(1.5922912339819336));
  CHECK(four.bytes == 211812352);
  CHECK(four.retransmits == 47);
}

TEST_CASE("iperf3 UDP results: sent, received and loss including the tail", "[vnic-bench][iperf3]") {
  UdpResult udp = udp_result_from(parse_iperf_output(fixture("iperf3_udp_64.json")));
  CHECK(udp.payload_bytes == 64);
  CHECK(udp.sent_frames == 24950);
  // The receiver saw sequences up to 23064 with 14713 gaps below it.
  CHECK(udp.received_frames == 23064 - 14713);
  CHECK(udp.sent_frames_per_s == Approx(24950 / 1.00402));
  CHECK(udp.received_frames_per_s == Approx(8351 / 1.032473));
  CHECK(udp.loss_percent == Approx(100.0 * (24950 - 8351) / 24950));
  CHECK(udp.received_gbit_per_s == Approx(8351 / 1.032473 * 64 * 8 / 1e9));

  // Older iperf3 has only end.sum.
  auto old = nlohmann::json::parse(
      R"({"start": {"test_start": {"blksize": 1472}}, "end": {"sum": {"packets": 1000, "lost_packets": 250, "seconds": 2.0}}})");
  UdpResult legacy = udp_result_from(old);
  CHECK(legacy.sent_frames == 1000);
  CHECK(legacy.received_frames == 750);
  CHECK(legacy.received_frames_per_s == Approx(375));
  CHECK(legacy.loss_percent == Approx(25));
}

TEST_CASE("iperf3 errors and broken output are refused with iperf3's words", "[vnic-bench][iperf3]") {
  CHECK_THROWS_WITH(parse_iperf_output(fixture("iperf3_error_refused.json")),
                    "iperf3: unable to connect to server: Connection refused");
  CHECK_THROWS_WITH(parse_iperf_output("iperf3: error - unable to connect"),
                    Catch::StartsWith("iperf3: output is not JSON"));
  CHECK_THROWS_WITH(parse_iperf_output(""), Catch::Contains("not JSON"));
  auto truncated = nlohmann::json::parse(R"({"start": {"test_start": {"num_streams": 1}}, "end": {}})");
  CHECK_THROWS_WITH(tcp_result_from(truncated), Catch::Contains("end.sum_received"));
}

TEST_CASE("iperf3 errors that are worth another attempt", "[vnic-bench][iperf3]") {
  std::string refused;
  try {
    parse_iperf_output(fixture("iperf3_error_refused.json"));
  } catch (const std::runtime_error& error) {
    refused = error.what();
  }
  // Right after a test, the server refuses or says it is busy for a moment: wait and retry.
  CHECK(is_server_between_tests(refused));
  CHECK(is_server_between_tests("iperf3: the server is busy running a test. try again later"));
  CHECK_FALSE(is_server_between_tests("iperf3: unable to connect to server: No route to host"));
  // A control connection broken by the flood: run the test again.
  CHECK(is_control_connection_error("iperf3: unable to receive control message: Connection reset by peer"));
  CHECK(is_control_connection_error("iperf3: control socket has closed unexpectedly"));
  CHECK_FALSE(is_control_connection_error("iperf3: unable to connect to server: Network is unreachable"));
}

TEST_CASE("iperf3 is asked for what each test needs", "[vnic-bench][iperf3]") {
  IperfTest test;
  test.host = "10.77.0.2";
  test.port = 7701;
  test.duration = std::chrono::milliseconds(1500);  // iperf3 takes whole seconds: rounded up
  test.streams = 4;
  auto argv = iperf_client_argv(test);
  auto has = [&argv](std::vector<std::string> seq) {
    return std::search(argv.begin(), argv.end(), seq.begin(), seq.end()) != argv.end();
  };
  CHECK(has({"--client", "10.77.0.2"}));
  CHECK(has({"--port", "7701"}));
  CHECK(has({"--time", "2"}));
  CHECK(has({"--parallel", "4"}));
  CHECK(has({"--json"}));
  CHECK_FALSE(has({"--udp"}));
  test.streams = 1;
  test.udp_payload = 64;
  argv = iperf_client_argv(test);
  CHECK(has({"--udp", "--length", "64", "--bitrate", "0"}));
  CHECK_FALSE(has({"--parallel"}));
}

TEST_CASE("nearest-rank percentiles", "[vnic-bench][stats]") {
  std::vector<uint64_t> four = {1, 2, 3, 4};
  CHECK(nearest_rank(four, 0.5) == 2);
  CHECK(nearest_rank(four, 0.75) == 3);
  CHECK(nearest_rank(four, 0.76) == 4);
  CHECK(nearest_rank(four, 1.0) == 4);
  CHECK(nearest_rank(std::vector<uint64_t>{}, 0.5) == 0);
  std::vector<uint64_t> thousand(1000);
  std::iota(thousand.begin(), thousand.end(), 1);
  CHECK(nearest_rank(thousand, 0.50) == 500);
  CHECK(nearest_rank(thousand, 0.90) == 900);
  CHECK(nearest_rank(thousand, 0.99) == 990);
  CHECK(nearest_rank(thousand, 0.999) == 999);
  CHECK(nearest_rank(std::vector<uint64_t>{7}, 0.999) == 7);
}

TEST_CASE("RTT summary of shuffled samples", "[vnic-bench][stats]") {
  std::vector<uint64_t> samples(1000);
  for (size_t i = 0; i < samples.size(); ++i) samples[i] = (i + 1) * 1000;  // 1 µs .. 1000 µs
  std::shuffle(samples.begin(), samples.end(), std::mt19937_64(42));
  RttSummary s = summarize_rtt(samples, 3);
  CHECK(s.count == 1000);
  CHECK(s.lost == 3);
  CHECK(s.min_us == Approx(1));
  CHECK(s.mean_us == Approx(500.5));
  CHECK(s.p50_us == Approx(500));
  CHECK(s.p90_us == Approx(900));
  CHECK(s.p99_us == Approx(990));
  CHECK(s.p999_us == Approx(999));
  CHECK(s.max_us == Approx(1000));
  auto json = to_json(s);
  for (const char* key : {"count", "lost", "min_us", "mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"})
    CHECK(json.contains(key));

  RttSummary none = summarize_rtt({}, 5);
  CHECK(none.count == 0);
  CHECK(none.lost == 5);
  CHECK(none.p99_us == 0);
}

TEST_CASE("the RTT histogram keeps a CDF within its bucket width, through JSON", "[vnic-bench][stats]") {
  RttHistogram h;
  std::mt19937_64 random(7);
  std::lognormal_distribution<double> rtt(std::log(50'000.0), 0.8);  // around 50 µs
  std::vector<uint64_t> samples;
  for (int i = 0; i < 20000; ++i) {
    samples.push_back(static_cast<uint64_t>(rtt(random)) + 1);
    h.record(samples.back());
  }
  CHECK(h.count() == 20000);
  auto cdf = h.cdf();
  REQUIRE(!cdf.empty());
  CHECK(cdf.back().second == Approx(1.0));
  for (size_t i = 1; i < cdf.size(); ++i) {
    CHECK(cdf[i].first > cdf[i - 1].first);
    CHECK(cdf[i].second > cdf[i - 1].second);
  }
  // Every point agrees with the samples: the fraction at or below the bucket's upper edge.
  std::sort(samples.begin(), samples.end());
  for (size_t i = 0; i < cdf.size(); i += 17) {
    double edge_ns = cdf[i].first * 1000;
    auto below = std::upper_bound(samples.begin(), samples.end(), static_cast<uint64_t>(edge_ns)) - samples.begin();
    CHECK(cdf[i].second == Approx(static_cast<double>(below) / static_cast<double>(samples.size())).margin(1e-3));
  }
  // The p50 read off the CDF is within one bucket (1.2%) of the exact one.
  double exact_p50_us = static_cast<double>(nearest_rank(samples, 0.5)) / 1000.0;
  auto p50 = std::find_if(cdf.begin(), cdf.end(), [](auto& p) { return p.second >= 0.5; });
  CHECK(p50->first == Approx(exact_p50_us).epsilon(0.013));

  RttHistogram back = RttHistogram::from_json(nlohmann::json::parse(h.to_json().dump()));
  CHECK(back.count() == h.count());
  auto cdf_back = back.cdf();
  REQUIRE(cdf_back.size() == cdf.size());
  for (size_t i = 0; i < cdf.size(); ++i) {
    CHECK(cdf_back[i].first == Approx(cdf[i].first));
    CHECK(cdf_back[i].second == Approx(cdf[i].second));
  }
  CHECK_THROWS(RttHistogram::from_json(nlohmann::json::parse(R"({"upper_us": [1, 2], "counts": [3]})")));
}

TEST_CASE("request/response datagrams carry their sequence", "[vnic-bench][rr]") {
  RrMessage m = make_rr_request(123456789);
  CHECK(m.size() == 64);
  CHECK(rr_sequence_of(m) == 123456789u);
  CHECK_FALSE(rr_sequence_of(std::span(m).first(63)));
  m[0] = std::byte{'x'};
  CHECK_FALSE(rr_sequence_of(m));
}

TEST_CASE("CPU time from /proc text", "[vnic-bench][cpu]") {
  // A command name with spaces and a ')' must not shift the fields.
  std::string stat =
      "4242 (vnicd (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 3 0 12345 1000000 500 "
      "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
  CHECK(cpu_ticks_from_pid_stat(stat) == 325);
  CHECK_THROWS(cpu_ticks_from_pid_stat("4242 vnicd S 1"));
  CHECK_THROWS(cpu_ticks_from_pid_stat("4242 (vnicd) S 1 2"));

  std::string proc_stat =
      "cpu  100 5 50 1000 20 3 2 10 0 0\n"
      "cpu0 50 2 25 500 10 1 1 5 0 0\n"
      "intr 12345\n";
  SystemTicks t = system_ticks_from_proc_stat(proc_stat);
  CHECK(t.busy == 100 + 5 + 50 + 3 + 2 + 10);
  CHECK(t.total == t.busy + 1000 + 20);
  CHECK_THROWS(system_ticks_from_proc_stat("intr 1\n"));
  CHECK(process_cpu_seconds(::getpid()) >= 0);
  CHECK_THROWS_WITH(process_cpu_seconds(0x3fffff), Catch::Contains("gone"));
}

TEST_CASE("figures print with 3 significant digits and n/a when missing", "[vnic-bench][table]") {
  CHECK(format_figure(std::nullopt) == "n/a");
  CHECK(format_figure(std::numeric_limits<double>::quiet_NaN()) == "n/a");
  CHECK(format_figure(0.0) == "0");
  CHECK(format_figure(4.1234) == "4.12");
  CHECK(format_figure(41.234) == "41.2");
  CHECK(format_figure(412.34) == "412");
  CHECK(format_figure(0.012345) == "0.0123");
  CHECK(format_figure(123456.7) == "123457");
  ordered_json doc = {{"a", {{"b", 2.5}, {"c", nullptr}, {"d", "text"}}}};
  CHECK(number_at(doc, "/a/b") == 2.5);
  CHECK_FALSE(number_at(doc, "/a/c"));
  CHECK_FALSE(number_at(doc, "/a/d"));
  CHECK_FALSE(number_at(doc, "/a/missing/deeper"));
}

TEST_CASE("tables align their columns", "[vnic-bench][table]") {
  std::string table =
      render_table({"", "one", "two"}, {{"first row", "1", "n/a"}, {"second, µs", "12345", "6.5"}, {"short"}});
  auto lines = lines_of(table);
  REQUIRE(lines.size() == 4);
  // Right-aligned figures: every line's figure columns end at the same place.
  CHECK(lines[0] == "              one  two");
  CHECK(lines[1] == "first row       1  n/a");
  CHECK(lines[2] == "second, µs  12345  6.5");
  CHECK(lines[3] == "short");
}

namespace {

// A lab report with just the figures the ratios and the table read.
ordered_json sample_end() {
  auto path = [](double gbit, std::optional<double> p99, ordered_json cpu) {
    ordered_json results = {{"tcp_1stream", {{"gbit_per_s", gbit}, {"transport_cpu_s_per_gbit", cpu}}},
                            {"rr_idle", {{"rtt", {{"p99_us", p99 ? ordered_json(*p99) : ordered_json(nullptr)}}}}}};
    return ordered_json{{"label", "x"}, {"results", results}};
  };
  ordered_json end;
  end["paths"]["vnic"] = path(2.0, 400.0, 0.5);
  end["paths"]["vnic_offload_off"] = path(1.0, 800.0, 1.0);
  end["paths"]["veth"] = path(10.0, 20.0, nullptr);
  end["paths"]["socat"] = path(0.5, std::nullopt, 2.0);
  end["floor"] = {{"write_read", {{"p99_us", 200.0}}}};
  return end;
}

}  // namespace

TEST_CASE("ratios divide vnic by the other paths and stay null when a figure is missing", "[vnic-bench][ratios]") {
  ordered_json end = sample_end();
  ordered_json r = compute_ratios(end);
  CHECK(r["tcp_1stream"]["vs_veth"].get<double>() == Approx(0.2));
  CHECK(r["tcp_1stream"]["vs_socat"].get<double>() == Approx(4.0));
  CHECK_FALSE(r["tcp_1stream"].contains("vs_floor"));
  CHECK(r["rr_p99_idle"]["vs_veth"].get<double>() == Approx(20.0));
  CHECK(r["rr_p99_idle"]["vs_socat"].is_null());  // socat's p99 is missing
  CHECK(r["rr_p99_idle"]["vs_floor"].get<double>() == Approx(2.0));
  CHECK(r["tcp_1stream_transport_cpu_per_gbit"]["vs_veth"].is_null());  // veth has no transport process
  CHECK(r["tcp_1stream_transport_cpu_per_gbit"]["vs_socat"].get<double>() == Approx(0.25));
  CHECK(r["tcp_4streams"]["vs_veth"].is_null());   // not measured at all in this sample
  CHECK_FALSE(r.contains("udp_64_loss_percent"));  // losses are shown, not divided
  CHECK(r["offload_off"]["tcp_1stream"]["vs_veth"].get<double>() == Approx(0.1));
  CHECK(r["offload_off"]["rr_p99_idle"]["vs_floor"].get<double>() == Approx(4.0));
  CHECK(ratio_of(1.0, 0.0).is_null());
  CHECK(ratio_of(std::nullopt, 1.0).is_null());
  for (const LabMetric& m : lab_metrics()) {
    if (m.has_ratio) CHECK(r.contains(std::string(m.key)));
  }
}

TEST_CASE("the lab table prints n/a for missing figures and ratios", "[vnic-bench][table]") {
  ordered_json report = {{"start", {{"kernel", "Linux test"}, {"cpu_count", 2}, {"options", {{"duration_s", 1}}}}},
                         {"end", sample_end()}};
  report["ratios"] = compute_ratios(report["end"]);
  std::string table = format_lab_table(report);
  INFO(table);
  auto lines = lines_of(table);
  auto row = [&lines](const std::string& label) {
    auto it =
        std::find_if(lines.begin(), lines.end(), [&label](const std::string& l) { return l.rfind(label, 0) == 0; });
    REQUIRE(it != lines.end());
    std::vector<std::string> cells;
    std::istringstream in(it->substr(label.size()));
    for (std::string cell; in >> cell;) cells.push_back(cell);
    return cells;
  };
  // vnic, offloads off, veth, socat, vnic/veth, vnic/socat
  CHECK(row("TCP 1 stream, Gbit/s") == std::vector<std::string>{"2.00", "1.00", "10.0", "0.500", "0.200", "4.00"});
  CHECK(row("RR idle p99, µs") == std::vector<std::string>{"400", "800", "20.0", "n/a", "20.0", "n/a"});
  CHECK(row("TCP 4 streams, Gbit/s") == std::vector<std::string>{"n/a", "n/a", "n/a", "n/a", "n/a", "n/a"});
  CHECK(row("transport CPU s/Gbit, TCP 1 stream") ==
        std::vector<std::string>{"0.500", "1.00", "n/a", "2.00", "n/a", "0.250"});
  // The sections whose data is absent are left out rather than printed empty.
  CHECK(table.find("dead detection") == std::string::npos);
  CHECK(table.find("storage floor") != std::string::npos);
}

TEST_CASE("intervals list every test of a path in order, without histograms", "[vnic-bench][ratios]") {
  ordered_json results = {{"tcp_1stream", {{"gbit_per_s", 1.0}}}, {"rr_idle", {{"rtt", {}}, {"histogram", {}}}}};
  ordered_json intervals = ordered_json::array();
  append_intervals(intervals, "veth", results, 2);
  REQUIRE(intervals.size() == 2);
  CHECK(intervals[0]["round"] == 2);
  CHECK(intervals[0]["path"] == "veth");
  CHECK(intervals[0]["test"] == "tcp_1stream");
  CHECK(intervals[1]["test"] == "rr_idle");
  CHECK_FALSE(intervals[1]["figures"].contains("histogram"));
}

TEST_CASE("vnic volume and idle figures from two status readings", "[vnic-bench][vnic]") {
  auto status = [](uint64_t bytes, uint64_t volume, uint64_t blocks, uint64_t reads, uint64_t sr, uint64_t sw) {
    return nlohmann::json{{"tx", {{"bytes", bytes}, {"volume_bytes", volume}, {"blocks", blocks}}},
                          {"rx", {{"reads", reads}}},
                          {"counters", {{"state_reads", sr}, {"state_writes", sw}}},
                          {"volumes", {{"block_size", 4096}}}};
  };
  DaemonCounters a0 = counters_from_status(status(1000, 8192, 2, 10, 1, 1));
  DaemonCounters a1 = counters_from_status(status(1000 + 4032, 8192 + 8192, 4, 110, 21, 11));
  DaemonCounters b0 = counters_from_status(status(0, 0, 0, 0, 0, 0));
  DaemonCounters b1 = counters_from_status(status(0, 0, 0, 0, 0, 0));
  ordered_json v = volume_figures(a0, a1, b0, b1);
  CHECK(v["a"]["payload_bytes"] == 4032);
  CHECK(v["a"]["volume_bytes_per_payload_byte"].get<double>() == Approx(8192.0 / 4032));
  CHECK(v["a"]["block_fill_ratio"].get<double>() == Approx(4032.0 / (2 * (4096 - 64))));
  CHECK(v["b"]["volume_bytes_per_payload_byte"].is_null());  // nothing sent: no ratio, not zero
  CHECK(v["both"]["blocks"] == 2);

  ordered_json idle = idle_figures(a0, a1, 0.5, 10.0);
  CHECK(idle["cpu_percent_of_one_core"].get<double>() == Approx(5.0));
  CHECK(idle["data_reads_per_s"].get<double>() == Approx(10.0));
  CHECK(idle["state_reads_per_s"].get<double>() == Approx(2.0));
  CHECK(idle["state_writes_per_s"].get<double>() == Approx(1.0));
  CHECK(idle["ios_per_s"].get<double>() == Approx(10.0 + 2.0 + 1.0 + 0.2));

  nlohmann::json incomplete = status(0, 0, 0, 0, 0, 0);
  incomplete["rx"] = nullptr;  // a daemon with no reader yet
  CHECK_THROWS_WITH(counters_from_status(incomplete), Catch::Contains("/rx/reads"));
}

TEST_CASE("the CDF plot script draws every curve on a log axis", "[vnic-bench][plot]") {
  RttHistogram h;
  for (uint64_t ns : {10'000, 20'000, 40'000}) h.record(ns);
  std::vector<CdfCurve> curves = {
      {"vnic, idle", h, 1, false}, {"empty", RttHistogram{}, 2, false}, {"veth's", h, 3, true}};
  std::string data = cdf_data(curves);
  CHECK(data.find("# vnic, idle\n") == 0);
  std::string script = cdf_script(curves, "/tmp/d.dat", "/tmp/out.svg", "title");
  CHECK(script.find("set terminal svg") != std::string::npos);
  CHECK(script.find("set logscale x") != std::string::npos);
  CHECK(script.find("set output '/tmp/out.svg'") != std::string::npos);
  CHECK(script.find("index 0 ") != std::string::npos);
  CHECK(script.find("index 1 ") == std::string::npos);  // no samples, no curve
  CHECK(script.find("title 'veth''s'") != std::string::npos);
  CHECK(script.find("dashtype 2") != std::string::npos);
}
