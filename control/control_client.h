// The client side of the control socket, for vnicctl and tests.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace vnic_control {

// Sends one request to the daemon answering on `path` and returns its reply. Throws
// std::runtime_error("PATH: ...") when nobody answers within `timeout_ms` or the reply is cut short.
nlohmann::json control_request(const std::string& path, const nlohmann::json& request, int timeout_ms = 2000);

}  // namespace vnic_control
