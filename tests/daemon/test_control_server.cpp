#include <catch2/catch.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "control/control_client.h"
#include "control/control_server.h"

using nlohmann::json;

namespace {

std::string temp_socket_path() {
  char dir[] = "/tmp/vnicd-sock-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  return std::string(dir) + "/sub/ctl.sock";
}

// Serves requests on another thread until stopped.
struct Serving {
  vnic_control::ControlServer& server;
  std::atomic<bool> stop{false};
  std::thread thread;
  explicit Serving(vnic_control::ControlServer& s) : server(s), thread([this] { loop(); }) {}
  ~Serving() {
    stop = true;
    thread.join();
  }
  void loop() {
    while (!stop) {
      std::vector<pollfd> fds{{server.listen_fd(), POLLIN, 0}};
      for (int fd : server.client_fds()) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 10) <= 0) continue;
      if (fds[0].revents) server.on_listen_ready();
      for (size_t i = 1; i < fds.size(); ++i)
        if (fds[i].revents) server.on_client_ready(fds[i].fd);
    }
  }
};

}  // namespace

TEST_CASE("the control socket answers one JSON line per request, mode 0600", "[control]") {
  std::string path = temp_socket_path();
  vnic_control::ControlServer server(path, [](const json& request) -> json {
    if (request.value("command", "") == "status") return {{"ok", true}};
    return {{"error", "unknown command"}};
  });
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(S_ISSOCK(st.st_mode));
  Serving serving(server);
  CHECK(vnic_control::control_request(path, {{"command", "status"}}) == json{{"ok", true}});
  CHECK(vnic_control::control_request(path, {{"command", "nope"}}).contains("error"));
}

TEST_CASE("a malformed request gets an error reply, not a crash", "[control]") {
  std::string path = temp_socket_path();
  vnic_control::ControlServer server(path, [](const json&) -> json { return {{"ok", true}}; });
  Serving serving(server);
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  std::string bad = "{not json\n";
  REQUIRE(::write(fd, bad.data(), bad.size()) == static_cast<ssize_t>(bad.size()));
  char buffer[512] = {};
  pollfd p{fd, POLLIN, 0};
  REQUIRE(::poll(&p, 1, 2000) == 1);
  ssize_t n = ::read(fd, buffer, sizeof(buffer) - 1);
  ::close(fd);
  REQUIRE(n > 0);
  auto reply = json::parse(std::string(buffer, static_cast<size_t>(n)));
  CHECK_THAT(reply["error"].get<std::string>(), Catch::Contains("bad request"));
}

TEST_CASE("a stale socket is replaced - a live one is refused", "[control]") {
  std::string path = temp_socket_path();
  {
    vnic_control::ControlServer first(path, [](const json&) -> json { return {}; });
    CHECK_THROWS_WITH(vnic_control::ControlServer(path, [](const json&) -> json { return {}; }),
                      Catch::Contains("another daemon is already answering"));
  }
  // A socket file with nobody behind it, as a killed daemon leaves.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  ::close(fd);
  vnic_control::ControlServer second(path, [](const json&) -> json { return {{"second", true}}; });
  Serving serving(second);
  CHECK(vnic_control::control_request(path, {{"command", "x"}})["second"] == true);
}

TEST_CASE("a client with no daemon behind the path gets one clear error", "[control]") {
  CHECK_THROWS_WITH(vnic_control::control_request("/tmp/vnic-no-such.sock", {{"command", "status"}}),
                    Catch::Contains("/tmp/vnic-no-such.sock") && Catch::Contains("cannot connect"));
}
