// libFuzzer target: arbitrary text as vnicd's JSON config file, then validate(), as vnicd does at
// start and on SIGHUP. Whatever the text, the outcome is a Config that validate() accepts or a
// ConfigError with a message for the admin; anything else escaping (a nlohmann or std exception,
// a crash) is a bug that would take vnicd down without saying why, or during a reload.
#include <net/if.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "daemon/config.h"
#include "tests/fuzz/fuzz_support.h"

using vnic_fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  vnicd::Config config;
  try {
    vnicd::load_config_text(text, "fuzz.json", config);
    vnicd::validate(config);
  } catch (const vnicd::ConfigError& e) {
    require(std::strlen(e.what()) > 0);
    return 0;
  } catch (...) {
    vnic_fuzz::fail();
  }
  // Accepted: what the rest of vnicd relies on validate() for.
  require(!config.ifname.empty() && config.ifname.size() < IFNAMSIZ);
  require(!config.send_path.empty() && !config.recv_path.empty());
  require(config.dead_after_ms >= 3 * config.heartbeat_interval_ms);
  require(config.send_slot < 64 && config.peer_slot < 64);
  require(config.queue_depth >= 1);
  require(!config.effective_control_socket().empty());
  return 0;
}
