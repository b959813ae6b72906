// The control protocol without the socket: one request line in, one JSON reply line out. Kept
// apart from ControlServer so it can be tested and fuzzed as a pure function.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace vnic_control {

// A request is {"command": NAME, ...}; an error reply is {"error": "what is wrong"}.
inline constexpr std::string_view kCommandKey = "command";
inline constexpr std::string_view kErrorKey = "error";
// The command `vnicctl status` sends; the reply's keys are in control/status_keys.h.
inline constexpr std::string_view kStatusCommand = "status";

using ControlHandler = std::function<nlohmann::json(const nlohmann::json& request)>;

// Parses `line` (without its newline) as JSON and answers it with `handler`. Never throws: a line
// that does not parse, or a handler that throws, gets {"error":"..."}. The reply is one line of
// valid JSON (UTF-8, no newline) whatever the request or the handler's strings held.
std::string answer_request_line(std::string_view line, const ControlHandler& handler);

// vnicd's commands: "status" (and its alias "stats") answer with status(); anything else, and a
// request that is not an object with a string "command", gets {"error":"..."}.
nlohmann::json dispatch_command(const nlohmann::json& request, const std::function<nlohmann::json()>& status);

}  // namespace vnic_control
