#include "tools/vnic-bench/lab_path.h"

#include <stdexcept>

#include <fmt/format.h>

#include "tools/common/child_process.h"
#include "tools/vnic-bench/client_tests.h"
#include "tools/vnic-bench/stop_signal.h"

namespace vnic_bench {
namespace {

constexpr std::chrono::seconds kServerStartLimit{20};
constexpr std::string_view kClientProgress = "vnic-bench client: ";

// Starts the server and waits for its "ready" line.
vnic_tools::ChildProcess start_server(const LabTools& tools, const LabPlan& plan, const PathSpec& path) {
  vnic_tools::ChildOptions options;
  options.err = vnic_tools::ChildOutput::pipe;
  vnic_tools::ChildProcess server = vnic_tools::ChildProcess::spawn({"ip", "netns", "exec", path.server_ns, tools.self, "server", "--bind",
                                             path.server_address, "--port", std::to_string(plan.port)},
                                            options);
  vnic_tools::OutputPump pump(server);
  bool ready = false;
  pump.on_err_line = [&ready](std::string_view line) { ready = ready || line.ends_with("ready"); };
  auto deadline = std::chrono::steady_clock::now() + kServerStartLimit;
  while (!ready) {
    throw_if_stopped();
    if (!pump.pump(std::chrono::milliseconds(50)) || std::chrono::steady_clock::now() > deadline) {
      server.stop();
      std::string said = vnic_tools::last_line(pump.err);
      throw std::runtime_error(
          fmt::format("{}: server in {}: {}", path.label, path.server_ns, said.empty() ? "did not get ready" : said));
    }
  }
  return server;
}

}  // namespace

nlohmann::ordered_json measure_path(const LabTools& tools, const LabPlan& plan, const PathSpec& path,
                                    const LabProgress& progress) {
  progress(fmt::format("[{}] starting the server in {}", path.label, path.server_ns));
  vnic_tools::ChildProcess server = start_server(tools, plan, path);

  std::vector<std::string> argv = {"ip",
                                   "netns",
                                   "exec",
                                   path.client_ns,
                                   tools.self,
                                   "client",
                                   path.server_address,
                                   "--duration",
                                   fmt::format("{}", std::chrono::duration<double>(plan.duration).count()),
                                   "--port",
                                   std::to_string(plan.port),
                                   "--json",
                                   "--progress"};
  for (pid_t pid : path.transport_pids) argv.insert(argv.end(), {"--transport-pid", std::to_string(pid)});
  vnic_tools::CaptureOptions options;
  options.check_stop = throw_if_stopped;
  // Six tests of --duration each, plus iperf3's set-up and result exchange on a busy machine.
  auto per_test = plan.duration + std::chrono::seconds(40);
  options.timeout = std::size(kClientTests) * per_test + std::chrono::seconds(60);
  options.on_err_line = [&](std::string_view line) {
    if (line.starts_with(kClientProgress))
      progress(fmt::format("[{}] {}", path.label, line.substr(kClientProgress.size())));
  };
  vnic_tools::CapturedRun run = vnic_tools::run_captured(argv, options);
  if (run.exit_code != 0) {
    std::string said = vnic_tools::last_line(run.err);
    if (said.starts_with("vnic-bench: ")) said.erase(0, std::string_view("vnic-bench: ").size());
    throw std::runtime_error(
        fmt::format("{}: client in {}: {}", path.label, path.client_ns, said.empty() ? "failed" : said));
  }
  server.stop();
  try {
    return nlohmann::ordered_json::parse(run.out);
  } catch (const nlohmann::json::exception& error) {
    throw std::runtime_error(fmt::format("{}: the client's output is not JSON: {}", path.label, error.what()));
  }
}

}  // namespace vnic_bench
