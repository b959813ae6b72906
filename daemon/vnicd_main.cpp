// vnicd: a network interface whose frames travel through shared storage.
#include <cstdio>
#include <exception>
#include <optional>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "blockxport/key_file.h"
#include "blockxport/volume.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/privileges.h"

namespace {
// sysexits' EX_CONFIG: what the admin must fix before a restart can help (a bad config, a volume
// that is not ours or a slot another live node owns, an unreadable key). The unit's
// RestartPreventExitStatus names it, so systemd stops instead of retrying into the same refusal.
constexpr int kExitConfig = 78;

int start_failure_status(const std::exception& e) {
  bool refused = dynamic_cast<const vnicd::ConfigError*>(&e) || dynamic_cast<const blockxport::VolumeError*>(&e) ||
                 dynamic_cast<const blockxport::KeyFileError*>(&e);
  return refused ? kExitConfig : 1;
}
}  // namespace

int main(int argc, char** argv) {
  // One line per event on stderr, for journald (which adds its own timestamps).
  auto logger = spdlog::stderr_color_mt("vnicd");
  logger->set_pattern("%^%l%$: %v");
  spdlog::set_default_logger(logger);
  std::optional<vnicd::Daemon> daemon;
  try {
    auto config = vnicd::parse_command_line(argc, argv);
    if (!config) return 0;
    daemon.emplace(*config);
    // The TAP, the volumes and the control socket are open: from here on only CAP_NET_ADMIN.
    spdlog::info("{}", vnicd::drop_privileges(vnicd::resolve_run_as(*config)));
    if (auto warning = vnicd::reload_warning(*config)) spdlog::warn("{}", *warning);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return start_failure_status(e);
  }
  // Once running, a failure (a volume gone, an I/O error) is worth a restart: plain 1.
  try {
    return daemon->run();
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
}
