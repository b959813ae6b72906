#include "vnic/link_monitor.h"

#include "vnic/error.h"
#include "vnic/netlink_util.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <optional>
#include <utility>

#include <fmt/format.h>

namespace vnic {

namespace {

// Room for a burst of notifications (an admin script flapping the link, or a
// namespace teardown) before the kernel drops some and we must resync.
constexpr int kReceiveBufferBytes = 1 << 20;

struct CallbackGuard {
  nl_cb* cb;
  ~CallbackGuard() { nl_cb_put(cb); }
};

void collect_link(nl_object* object, void* out) {
  *static_cast<std::optional<LinkState>*>(out) = netlink::to_link_state(reinterpret_cast<rtnl_link*>(object));
}

}  // namespace

std::string_view to_string(LinkEventKind kind) {
  switch (kind) {
    case LinkEventKind::admin_up:
      return "admin_up";
    case LinkEventKind::admin_down:
      return "admin_down";
    case LinkEventKind::lower_up:
      return "lower_up";
    case LinkEventKind::lower_down:
      return "lower_down";
    case LinkEventKind::mtu_changed:
      return "mtu_changed";
    case LinkEventKind::removed:
      return "removed";
  }
  return "invalid";
}

void LinkMonitor::SocketDeleter::operator()(nl_sock* sock) const noexcept { nl_socket_free(sock); }

LinkMonitor::LinkMonitor(int ifindex) : ifindex_(ifindex), ifname_(fmt::format("ifindex {}", ifindex)) {
  netlink::SocketPtr sock = netlink::connect_route_socket(ifname_);
  // Notifications carry no sequence numbers we asked for.
  nl_socket_disable_seq_check(sock.get());
  if (const int err = nl_socket_add_membership(sock.get(), RTNLGRP_LINK); err < 0) {
    netlink::throw_nl(ifname_, "subscribing to link notifications", err);
  }
  if (const int err = nl_socket_set_nonblocking(sock.get()); err < 0) {
    netlink::throw_nl(ifname_, "making netlink socket non-blocking", err);
  }
  if (const int err = nl_socket_set_buffer_size(sock.get(), kReceiveBufferBytes, 0); err < 0) {
    netlink::throw_nl(ifname_, "sizing netlink receive buffer", err);
  }
  sock_.reset(sock.release());
  // Made now, not when needed: a socket belongs to the namespace of the
  // thread that creates it, and poll() may run on any thread.
  query_sock_.reset(netlink::connect_route_socket(ifname_).release());
  // Snapshot only after subscribing, so no change can fall in between;
  // a notification older than the snapshot at worst repeats a transition.
  last_state_ = netlink::to_link_state(netlink::fetch_link(query_sock_.get(), ifindex_, ifname_).get());
  ifname_ = last_state_.name;
}

LinkMonitor::LinkMonitor(LinkMonitor&&) noexcept = default;
LinkMonitor& LinkMonitor::operator=(LinkMonitor&&) noexcept = default;
LinkMonitor::~LinkMonitor() = default;

int LinkMonitor::fd() const { return nl_socket_get_fd(sock_.get()); }

int LinkMonitor::on_message(nl_msg* msg, void* self_ptr) {
  auto* self = static_cast<LinkMonitor*>(self_ptr);
  const nlmsghdr* header = nlmsg_hdr(msg);
  if (header->nlmsg_type != RTM_NEWLINK && header->nlmsg_type != RTM_DELLINK) {
    return NL_OK;
  }
  if (header->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) {
    return NL_OK;
  }
  const auto* info = static_cast<const ifinfomsg*>(nlmsg_data(header));
  // AF_BRIDGE and other per-family echoes describe a port, not the link.
  if (info->ifi_index != self->ifindex_ || info->ifi_family != AF_UNSPEC || self->removed_ || self->discarding_) {
    return NL_OK;
  }
  if (header->nlmsg_type == RTM_DELLINK) {
    self->removed_ = true;
    self->pending_.push_back({LinkEventKind::removed, self->last_state_});
    return NL_OK;
  }
  std::optional<LinkState> now;
  if (nl_msg_parse(msg, collect_link, &now) >= 0 && now) {
    self->observe(*now);
  }
  return NL_OK;
}

void LinkMonitor::observe(const LinkState& now) {
  const LinkState before = std::exchange(last_state_, now);
  if (before.admin_up != now.admin_up) {
    pending_.push_back({now.admin_up ? LinkEventKind::admin_up : LinkEventKind::admin_down, now});
  }
  if (before.lower_up != now.lower_up) {
    pending_.push_back({now.lower_up ? LinkEventKind::lower_up : LinkEventKind::lower_down, now});
  }
  if (before.mtu != now.mtu) {
    pending_.push_back({LinkEventKind::mtu_changed, now});
  }
}

void LinkMonitor::resynchronise() {
  rtnl_link* link = nullptr;
  const int err = rtnl_link_get_kernel(query_sock_.get(), ifindex_, nullptr, &link);
  if (err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND) {
    removed_ = true;
    pending_.push_back({LinkEventKind::removed, last_state_});
    return;
  }
  if (err < 0) {
    netlink::throw_nl(ifname_, "resynchronising link state", err);
  }
  const netlink::LinkPtr owned(link);
  observe(netlink::to_link_state(owned.get()));
}

std::vector<LinkEvent> LinkMonitor::poll() {
  // Registered per call rather than once so that moving the monitor is safe.
  nl_socket_modify_cb(sock_.get(), NL_CB_VALID, NL_CB_CUSTOM, &LinkMonitor::on_message, this);
  const CallbackGuard cb{nl_socket_get_cb(sock_.get())};
  bool overflowed = false;
  while (!removed_) {
    const int received = nl_recvmsgs_report(sock_.get(), cb.cb);
    if (received == 0 || received == -NLE_AGAIN) {
      break;
    }
    if (received == -NLE_NOMEM) {
      // ENOBUFS: the kernel dropped notifications for us. It reports
      // that before the older ones still queued, so those are drained
      // unseen before resynchronising; replaying them after the fresh
      // snapshot would move the state backwards.
      overflowed = true;
      discarding_ = true;
      continue;
    }
    if (received < 0) {
      netlink::throw_nl(ifname_, "receiving link notifications", received);
    }
  }
  if (overflowed && !removed_) {
    discarding_ = false;
    resynchronise();
  }
  return std::exchange(pending_, {});
}

}  // namespace vnic
