// vnicd: a network interface whose frames travel through shared storage.
#include <cstdio>
#include <exception>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/privileges.h"

int main(int argc, char** argv) {
  // One line per event on stderr, for journald (which adds its own timestamps).
  auto logger = spdlog::stderr_color_mt("vnicd");
  logger->set_pattern("%^%l%$: %v");
  spdlog::set_default_logger(logger);
  try {
    auto config = vnicd::parse_command_line(argc, argv);
    if (!config) return 0;
    vnicd::Daemon daemon(*config);
    // The TAP, the volumes and the control socket are open: from here on only CAP_NET_ADMIN.
    spdlog::info("{}", vnicd::drop_privileges(vnicd::resolve_run_as(*config)));
    if (auto warning = vnicd::reload_warning(*config)) spdlog::warn("{}", *warning);
    return daemon.run();
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
}
