#include "control/control_protocol.h"

#include <exception>

#include <fmt/format.h>

namespace vnic_control {

std::string answer_request_line(std::string_view line, const ControlHandler& handler) {
  nlohmann::json reply;
  try {
    reply = handler(nlohmann::json::parse(line));
  } catch (const nlohmann::json::exception& e) {
    reply = {{kErrorKey, fmt::format("bad request: {}", e.what())}};
  } catch (const std::exception& e) {
    reply = {{kErrorKey, e.what()}};
  }
  // Replace, not throw: a parse error quotes the raw bytes it stopped at and a status string
  // (a volume path given as a flag) can hold any bytes, and dump() throws on invalid UTF-8, which
  // would escape the daemon's loop and kill it on one bad request.
  return reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json dispatch_command(const nlohmann::json& request, const std::function<nlohmann::json()>& status) {
  std::string command = request.value(kCommandKey, "");
  if (command == kStatusCommand || command == "stats") return status();
  return {{kErrorKey, fmt::format("unknown command '{}'", command)}};
}

}  // namespace vnic_control
