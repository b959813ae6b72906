// vnic-bench server, client, ping and lab as a user runs them: bad input is refused with one line
// and exit 2 before anything starts, an unreachable server is a one-line error (exit 1) after the
// connect timeout, lab refuses to run without root, and server + ping + client work over
// loopback (the same code the lab runs in its namespaces).
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/tools/support/scratch_dir.h"
#include "tests/tools/support/tools_under_test.h"

using namespace tools_test;

namespace {

// A port pair (P for requests, P + 1 for iperf3) unlikely to be in use by a concurrent test.
uint16_t random_port() {
  std::random_device seed;
  return static_cast<uint16_t>(std::uniform_int_distribution<int>(20000, 29999)(seed) * 2);
}

// Processes whose command line holds `needle` (iperf3 servers a test left behind).
std::vector<pid_t> processes_with(const std::string& needle) {
  std::vector<pid_t> found;
  DIR* proc = ::opendir("/proc");
  while (dirent* entry = proc != nullptr ? ::readdir(proc) : nullptr) {
    pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 0) continue;
    std::ifstream in("/proc/" + std::string(entry->d_name) + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (char& c : cmdline)
      if (c == '\0') c = ' ';
    if (cmdline.find(needle) != std::string::npos) found.push_back(pid);
  }
  if (proc != nullptr) ::closedir(proc);
  return found;
}

void check_refused(const vnic_tools::CapturedRun& result, int exit_code) {
  INFO(result.describe());
  CHECK(result.exit_code == exit_code);
  CHECK(result.out.empty());
  CHECK(is_one_line(result.err));
  CHECK(result.err.rfind("vnic-bench: ", 0) == 0);
}

// The whole of a log file, or "" before it exists.
std::string text_of(const std::string& path) {
  if (!tools_test::file_exists(path)) return "";
  auto bytes = tools_test::read_file(path);
  return std::string(bytes.begin(), bytes.end());
}

// Waits until `child`'s log holds `text`; false after `timeout` or once the child exited.
bool wait_for_output(vnic_tools::ChildProcess& child, const std::string& log_path, const std::string& text,
                     std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (text_of(log_path).find(text) != std::string::npos) return true;
    if (child.exited()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

TEST_CASE("vnic-bench server, client, ping and lab refuse bad input with one line and exit 2", "[vnic-bench][cli]") {
  const std::vector<std::vector<std::string>> cases = {
      {"lab", "--duration", "0"},
      {"lab", "--duration", "-1"},
      {"lab", "--duration", "soon"},
      {"lab", "--backing", "nfs"},
      {"lab", "--io-engine", "floppy"},
      {"lab", "--block-size", "3000"},
      {"lab", "--nodes", "1"},
      {"lab", "--nodes", "9"},
      {"lab", "--nodes", "four"},
      {"lab", "--block-size", "2M"},
      {"lab", "--name", "../etc"},
      {"lab", "--idle-duration", "0"},
      {"lab", "--port", "65535"},
      {"lab", "--rounds", "0"},
      {"lab", "--rounds", "21"},
      {"lab", "--rounds", "two"},
      {"lab", "--colour", "blue"},
      {"client"},
      {"client", "127.0.0.1", "--duration", "0"},
      {"client", "127.0.0.1", "--port", "0"},
      {"client", "127.0.0.1", "--transport-pid", "0"},
      {"client", "127.0.0.1", "--transport-pid", "abc"},
      {"client", "127.0.0.1", "--transport-pid", "4194000"},  // above any pid_max in use here: no such process
      {"ping"},
      {"ping", "127.0.0.1", "--count", "0"},
      {"ping", "127.0.0.1", "--count", "5", "--duration", "1"},
      {"ping", "127.0.0.1", "--timeout", "0"},
      {"server", "--port", "0"},
      {"server", "--port", "70000"},
  };
  for (const auto& args : cases) {
    INFO("vnic-bench " << fmt::format("{}", fmt::join(args, " ")));
    check_refused(vnic_bench(args), 2);
  }
}

TEST_CASE("vnic-bench ping and client say clearly when no server answers", "[vnic-bench][cli]") {
  uint16_t port = random_port();
  SECTION("nothing listens on the port") {
    vnic_tools::CapturedRun result =
        vnic_bench({"ping", "127.0.0.1", "--port", std::to_string(port), "--connect-timeout", "0.5"});
    check_refused(result, 1);
    CHECK_THAT(result.err, Catch::Contains("127.0.0.1:" + std::to_string(port)) &&
                               Catch::Contains("no vnic-bench server answered within 0.5 s"));
  }
  SECTION("an address nobody answers for (TEST-NET-1)") {
    auto start = std::chrono::steady_clock::now();
    vnic_tools::CapturedRun result = vnic_bench({"client", "192.0.2.1", "--connect-timeout", "1", "--duration", "1"});
    check_refused(result, 1);
    CHECK_THAT(result.err, Catch::Contains("192.0.2.1"));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
  }
  SECTION("a name that does not resolve") {
    vnic_tools::CapturedRun result = vnic_bench({"ping", "no-such-host.invalid", "--connect-timeout", "0.5"});
    check_refused(result, 1);
    CHECK_THAT(result.err, Catch::Contains("no-such-host.invalid: cannot resolve"));
  }
}

TEST_CASE("vnic-bench lab needs root and says so before touching anything", "[vnic-bench][cli]") {
  if (::geteuid() != 0) {
    check_refused(vnic_bench({"lab", "--duration", "1"}), 1);
    return;
  }
  // As root, run it as nobody.
  vnic_tools::CaptureOptions as_nobody;
  as_nobody.credentials = vnic_tools::ChildCredentials{65534, 65534};
  vnic_tools::CapturedRun result =
      vnic_tools::run_captured({VNIC_BENCH_PATH, "lab", "--duration", "1", "--name", "bench-unit-noroot"}, as_nobody);
  INFO(result.describe());
  CHECK(result.exit_code == 1);
  CHECK(is_one_line(result.err));
  CHECK_THAT(result.err, Catch::Contains("must run as root"));
  CHECK_FALSE(tools_test::file_exists("/run/bench-unit-noroot"));
  CHECK_FALSE(tools_test::file_exists("/run/netns/bench-unit-noroot-a"));
}

TEST_CASE("vnic-bench server answers ping and client over loopback, and stops cleanly", "[vnic-bench][loopback]") {
  tools_test::ScratchDir dir;
  uint16_t port = random_port();
  vnic_tools::ChildOptions logged;
  logged.out = vnic_tools::ChildOutput::file;
  logged.err = vnic_tools::ChildOutput::file;
  logged.output_file = dir.path("server.log");
  auto server = vnic_tools::ChildProcess::spawn(
      {VNIC_BENCH_PATH, "server", "--bind", "127.0.0.1", "--port", std::to_string(port)}, logged);
  auto log = [&] { return text_of(logged.output_file); };
  INFO(log());
  REQUIRE(wait_for_output(server, logged.output_file, "ready", std::chrono::seconds(15)));
  std::string iperf_port = std::to_string(port + 1);
  REQUIRE(processes_with("iperf3 --server --port " + iperf_port).size() == 1);

  SECTION("ping records exactly --count round trips, with percentiles and a histogram") {
    vnic_tools::CapturedRun result =
        vnic_bench({"ping", "127.0.0.1", "--port", std::to_string(port), "--count", "500", "--json"});
    INFO(result.describe());
    REQUIRE(result.exit_code == 0);
    auto report = nlohmann::json::parse(result.out);
    const auto& rtt = report.at("rtt");
    CHECK(rtt.at("count").get<uint64_t>() + rtt.at("lost").get<uint64_t>() == 500);
    CHECK(rtt.at("count").get<uint64_t>() > 0);
    double p50 = rtt.at("p50_us"), p90 = rtt.at("p90_us"), p99 = rtt.at("p99_us"), p999 = rtt.at("p999_us");
    CHECK(p50 > 0);
    CHECK(p50 <= p90);
    CHECK(p90 <= p99);
    CHECK(p99 <= p999);
    CHECK(p999 <= rtt.at("max_us").get<double>());
    uint64_t histogram_count = 0;
    for (const auto& n : report.at("histogram").at("counts")) histogram_count += n.get<uint64_t>();
    CHECK(histogram_count == rtt.at("count").get<uint64_t>());

    vnic_tools::CapturedRun text = vnic_bench({"ping", "127.0.0.1", "--port", std::to_string(port), "--count", "50"});
    INFO(text.describe());
    CHECK(text.exit_code == 0);
    CHECK_THAT(text.out, Catch::Contains("p99.9"));
  }
  SECTION("client runs every test and reports the transport's CPU") {
    vnic_tools::CapturedRun result = vnic_bench({"client", "127.0.0.1", "--port", std::to_string(port), "--duration", "1",
                                       "--json", "--transport-pid", std::to_string(server.pid())});
    INFO(result.describe());
    REQUIRE(result.exit_code == 0);
    auto report = nlohmann::json::parse(result.out);  // throws on anything but JSON
    const auto& r = report.at("results");
    CHECK(report.at("iperf3_port") == port + 1);
    for (const char* tcp : {"tcp_1stream", "tcp_4streams"}) {
      CHECK(r.at(tcp).at("gbit_per_s").get<double>() > 0);
      CHECK(r.at(tcp).at("transport_cpu_s_per_gbit").is_number());
      CHECK(r.at(tcp).at("system_cpu_s_per_gbit").get<double>() > 0);
    }
    CHECK(r.at("tcp_4streams").at("streams") == 4);
    for (const char* udp : {"udp_64", "udp_1472"}) {
      CHECK(r.at(udp).at("sent_frames_per_s").get<double>() > 0);
      CHECK(r.at(udp).at("loss_percent").get<double>() >= 0);
    }
    CHECK(r.at("udp_1472").at("payload_bytes") == 1472);
    for (const char* rr : {"rr_idle", "rr_load"}) CHECK(r.at(rr).at("rtt").at("count").get<uint64_t>() > 0);
    CHECK(r.at("rr_load").at("load_gbit_per_s").get<double>() > 0);
  }

  server.send_signal(SIGTERM);
  CHECK(server.wait_for(std::chrono::seconds(10)));
  INFO(log());
  CHECK(server.exit_code() == 0);
  CHECK_THAT(log(), Catch::Contains("stopped"));
  // Its iperf3 went with it.
  for (int i = 0; i < 100 && !processes_with("iperf3 --server --port " + iperf_port).empty(); ++i) ::usleep(20000);
  CHECK(processes_with("iperf3 --server --port " + iperf_port).empty());
}
