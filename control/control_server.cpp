#include "control/control_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/fsuid.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "control/control_protocol.h"
#include "control/unix_socket.h"

namespace vnic_control {
namespace {

constexpr size_t kMaxRequestBytes = 64 * 1024;
constexpr size_t kMaxClients = 16;

// True when a live process accepts connections on `path`.
bool someone_listening(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr = unix_address(path);
  bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return live;
}

}  // namespace

ControlServer::ControlServer(std::string path, Handler handler, unsigned mode, std::optional<gid_t> group)
    : path_(std::move(path)), handler_(std::move(handler)) {
  sockaddr_un addr = unix_address(path_);
  auto dir = std::filesystem::path(path_).parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw std::runtime_error(fmt::format("{}: cannot create {}: {}", path_, dir.string(), ec.message()));
  }
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw std::runtime_error(fmt::format("{}: exists and is not a socket", path_));
    if (someone_listening(path_))
      throw std::runtime_error(fmt::format("{}: another daemon is already answering on this control socket", path_));
    ::unlink(path_.c_str());  // stale, left by a daemon that was killed
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) throw_socket_error(path_, "socket");
  // The mode is set on a private umask so the socket is never reachable more widely, not even briefly.
  mode_t old_mask = ::umask(static_cast<mode_t>(~mode & 0777));
  // The group the same way: bound under that filesystem gid, the socket is created with it. This
  // needs CAP_SETGID, which vnicd holds until it drops privileges, where chown() would need
  // CAP_CHOWN; fsgid is per thread, so nothing else in the process sees the change.
  std::optional<int> old_fsgid;
  if (group) old_fsgid = ::setfsgid(*group);
  int rc = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int bind_error = errno;
  if (old_fsgid) ::setfsgid(static_cast<gid_t>(*old_fsgid));
  ::umask(old_mask);
  errno = bind_error;
  if (rc != 0) {
    int error = errno;
    ::close(listen_fd_);
    errno = error;
    throw_socket_error(path_, "bind");
  }
  // A set-group-ID directory imposes its own group; then chown() must do (and may be refused).
  struct stat bound {};
  if (group && (::lstat(path_.c_str(), &bound) != 0 || bound.st_gid != *group) &&
      ::chown(path_.c_str(), static_cast<uid_t>(-1), *group) != 0) {
    int error = errno;
    ::close(listen_fd_);
    ::unlink(path_.c_str());
    errno = error;
    throw_socket_error(path_, fmt::format("cannot give the socket group {}", *group).c_str());
  }
  if (::chmod(path_.c_str(), mode) != 0 || ::listen(listen_fd_, 8) != 0) {
    int error = errno;
    ::close(listen_fd_);
    ::unlink(path_.c_str());
    errno = error;
    throw_socket_error(path_, "listen");
  }
}

ControlServer::~ControlServer() {
  for (auto& c : clients_) ::close(c.fd);
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    ::unlink(path_.c_str());
  }
}

std::vector<int> ControlServer::client_fds() const {
  std::vector<int> fds;
  for (const auto& c : clients_) fds.push_back(c.fd);
  return fds;
}

void ControlServer::on_listen_ready() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    if (clients_.size() >= kMaxClients) {
      ::close(fd);
      continue;
    }
    clients_.push_back({fd, {}});
  }
}

void ControlServer::close_client(size_t index) {
  ::close(clients_[index].fd);
  clients_.erase(clients_.begin() + static_cast<std::ptrdiff_t>(index));
}

void ControlServer::on_client_ready(int fd) {
  auto it = std::find_if(clients_.begin(), clients_.end(), [&](const Client& c) { return c.fd == fd; });
  if (it == clients_.end()) return;
  size_t index = static_cast<size_t>(it - clients_.begin());
  char buffer[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      close_client(index);
      return;
    }
    clients_[index].pending.append(buffer, static_cast<size_t>(n));
    if (clients_[index].pending.size() > kMaxRequestBytes) {
      send_all(fd, R"({"error":"request longer than 64 KiB"})"
                   "\n");
      close_client(index);
      return;
    }
  }
  std::string& pending = clients_[index].pending;
  size_t newline;
  while ((newline = pending.find('\n')) != std::string::npos) {
    std::string line = pending.substr(0, newline);
    pending.erase(0, newline + 1);
    send_all(fd, answer_request_line(line, handler_) + "\n");
  }
}

}  // namespace vnic_control
