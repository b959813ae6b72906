#pragma once

#include "vnic/link_state.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct nl_sock;
struct nl_msg;

namespace vnic {

enum class LinkEventKind {
  admin_up,    // someone ran `ip link set IFNAME up`
  admin_down,  // ... `down`
  lower_up,    // carrier seen while admin up
  lower_down,
  mtu_changed,
  removed,  // the interface is gone; no further events follow
};

std::string_view to_string(LinkEventKind kind);

struct LinkEvent {
  LinkEventKind kind;
  LinkState state;  // the interface right after this change
};

// Watches one interface for changes made by anyone (an admin with `ip`,
// NetworkManager, the daemon itself) through an RTNLGRP_LINK subscription in
// the constructing thread's network namespace (poll() may then run on any
// thread). Put fd() in epoll; when it is readable, poll() returns what changed.
class LinkMonitor {
 public:
  explicit LinkMonitor(int ifindex);
  LinkMonitor(LinkMonitor&&) noexcept;
  LinkMonitor& operator=(LinkMonitor&&) noexcept;
  ~LinkMonitor();

  int fd() const;

  // Never blocks. Returns the changes since the last call, oldest first,
  // reduced to transitions: notifications that change nothing we report
  // (there are many) yield no event. If notifications were lost because the
  // socket overflowed, resynchronises from the kernel's current state.
  std::vector<LinkEvent> poll();

  const LinkState& last_state() const { return last_state_; }

 private:
  struct SocketDeleter {
    void operator()(nl_sock* sock) const noexcept;
  };

  static int on_message(nl_msg* msg, void* self);
  void observe(const LinkState& now);
  void resynchronise();

  int ifindex_;
  std::string ifname_;  // for errors only
  LinkState last_state_;
  bool removed_ = false;
  bool discarding_ = false;  // draining notifications made stale by an overflow
  std::vector<LinkEvent> pending_;
  std::unique_ptr<nl_sock, SocketDeleter> sock_;        // notifications
  std::unique_ptr<nl_sock, SocketDeleter> query_sock_;  // snapshots, same namespace
};

}  // namespace vnic
