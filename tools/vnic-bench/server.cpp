// vnic-bench server: the far end of `client` and `ping` on a real pair of nodes (or in the lab's
// second namespace). It answers 64-byte UDP requests on --port and runs an iperf3 server on the
// next port, until SIGINT or SIGTERM, when it stops iperf3 and exits 0.
#include <memory>
#include <string>

#include <fmt/format.h>

#include "tools/common/number_parse.h"
#include "tools/vnic-bench/commands.h"
#include "tools/vnic-bench/find_program.h"
#include "tools/vnic-bench/iperf_server.h"
#include "tools/vnic-bench/rr_protocol.h"
#include "tools/vnic-bench/rr_responder.h"
#include "tools/vnic-bench/stop_signal.h"
#include "tools/vnic-bench/udp_endpoint.h"

namespace vnic_bench {
namespace {

struct ServerArgs {
  std::string bind = "0.0.0.0";
  std::string port = std::to_string(kDefaultRrPort);
};

int run_server(const ServerArgs& args) {
  auto port = static_cast<uint16_t>(vnic_tools::parse_count("--port", args.port, 1, 65534));
  Endpoint local = resolve_udp(args.bind, port, true);
  require_in_path("iperf3", "scripts/install-deps.sh installs it");
  install_stop_handlers();

  Fd socket = bind_udp(local);
  auto iperf_port = static_cast<uint16_t>(port + 1);
  // iperf3 binds to the same address only when one was asked for; 0.0.0.0 is its default anyway.
  IperfServer iperf(args.bind == "0.0.0.0" ? "" : args.bind, iperf_port);
  // "ready" is what `vnic-bench lab` waits for before it starts the client.
  fmt::print(stderr, "vnic-bench server: request/response on {}/udp, iperf3 on port {}; ready\n", local.text,
             iperf_port);
  uint64_t answered = serve_rr(socket.get(), [&iperf] { iperf.check_alive(); });
  iperf.stop();
  fmt::print(stderr, "vnic-bench server: stopped after answering {} requests\n", answered);
  return 0;
}

}  // namespace

vnic_tools::Subcommand add_server_command(CLI::App& app) {
  auto args = std::make_shared<ServerArgs>();
  CLI::App* cmd = app.add_subcommand(
      "server",
      "Serve `vnic-bench client` and `vnic-bench ping`: answer 64-byte UDP requests on --port and run an iperf3 "
      "server on --port + 1, until SIGINT or SIGTERM.");
  cmd->add_option("--bind", args->bind, "Local address to listen on (default 0.0.0.0)")->type_name("ADDR");
  cmd->add_option("--port", args->port,
                  fmt::format("UDP port for requests; iperf3 listens on the next one (default {})", kDefaultRrPort))
      ->type_name("P");
  cmd->footer("Prints one line on stderr when ready; exits 0 on SIGINT or SIGTERM after stopping iperf3.");
  return {cmd, [args] { return run_server(*args); }};
}

}  // namespace vnic_bench
