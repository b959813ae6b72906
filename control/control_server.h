// The control socket: a UNIX stream socket taking one JSON request per line and answering one
// JSON line each, e.g. {"command":"status"}. Non-blocking; the daemon's loop drives it.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vnic_control {

class ControlServer {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json& request)>;

  // Creates the socket's directory if needed, replaces a stale socket (nobody listening), refuses
  // one that a live daemon answers on, and sets the socket's mode (0600 by default) and, when
  // given, its group (for mode 0660: members of that group may ask for status).
  // Throws std::runtime_error("PATH: what failed: why").
  ControlServer(std::string path, Handler handler, unsigned mode = 0600, std::optional<gid_t> group = std::nullopt);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  int listen_fd() const { return listen_fd_; }
  // Descriptors of connected clients, to watch for input.
  std::vector<int> client_fds() const;
  // Accepts pending connections.
  void on_listen_ready();
  // Reads what a client sent and answers every complete line.
  void on_client_ready(int fd);
  const std::string& path() const { return path_; }

 private:
  struct Client {
    int fd;
    std::string pending;
  };
  void close_client(size_t index);

  std::string path_;
  Handler handler_;
  int listen_fd_ = -1;
  std::vector<Client> clients_;
};

}  // namespace vnic_control
