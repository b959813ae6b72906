// libFuzzer target: arbitrary bytes sent to vnicd's control socket. Each line goes through the
// same function ControlServer uses (answer_request_line with vnicd's dispatch_command), and the
// answer must be one line of valid JSON: the status for {"command":"status"} or "stats", an
// object with a non-empty "error" string for anything else. A throw here would escape the
// daemon's event loop and stop it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "control/control_protocol.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using nlohmann::json;
using vnic_fuzz::require;

// Stands in for Daemon::status(). The send path holds a byte that is not UTF-8, as a path given
// with --send may: the reply must still be valid JSON.
json fake_status() {
  return {{"interface", {{"name", "vnic0"}, {"carrier", true}}},
          {"volumes", {{"send", "/dev/disk/by-id/vnic-\xff"}, {"recv", "/dev/mapper/vnic-recv"}}},
          {"uptime_s", 12.5}};
}

bool is_status_request(std::string_view line) {
  json request = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded() || !request.is_object()) return false;
  auto it = request.find("command");
  return it != request.end() && it->is_string() && (*it == "status" || *it == "stats");
}

void check_line(std::string_view line) {
  std::string reply = vnic_control::answer_request_line(
      line, [](const json& request) { return vnic_control::dispatch_command(request, fake_status); });
  require(reply.find('\n') == std::string::npos);  // one reply line per request line
  json parsed = json::parse(reply, nullptr, /*allow_exceptions=*/false);
  require(!parsed.is_discarded() && parsed.is_object());
  if (is_status_request(line)) {
    require(!parsed.contains("error") && parsed.contains("interface"));
  } else {
    auto error = parsed.find("error");
    require(error != parsed.end() && error->is_string() && !error->get<std::string>().empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Split as ControlServer does: every '\n' ends a request. Lines are independent, so a few per
  // input cover pipelining; thousands of one-byte lines would only slow the fuzzer down.
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (int lines = 0; lines < 4; ++lines) {
    size_t newline = input.find('\n');
    check_line(input.substr(0, newline));
    if (newline == std::string_view::npos) break;
    input.remove_prefix(newline + 1);
  }
  return 0;
}
