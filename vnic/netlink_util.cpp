#include "vnic/netlink_util.h"

#include "vnic/error.h"

#include <net/if.h>
// After <net/if.h>: only the kernel header has IFF_LOWER_UP.
#include <linux/if.h>
#include <netlink/route/rtnl.h>

#include <algorithm>
#include <cstring>

namespace vnic {

std::string_view to_string(OperState state) {
  switch (state) {
    case OperState::unknown:
      return "unknown";
    case OperState::not_present:
      return "notpresent";
    case OperState::down:
      return "down";
    case OperState::lower_layer_down:
      return "lowerlayerdown";
    case OperState::testing:
      return "testing";
    case OperState::dormant:
      return "dormant";
    case OperState::up:
      return "up";
  }
  return "invalid";
}

namespace netlink {

void throw_nl(std::string_view ifname, std::string_view action, int err) {
  throw Error(ifname, action, nl_geterror(err));
}

SocketPtr connect_route_socket(std::string_view ifname_for_errors) {
  SocketPtr sock(nl_socket_alloc());
  if (!sock) {
    throw Error(ifname_for_errors, "allocating netlink socket", "out of memory");
  }
  if (const int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0) {
    throw_nl(ifname_for_errors, "connecting rtnetlink socket", err);
  }
  return sock;
}

LinkPtr fetch_link(nl_sock* sock, int ifindex, std::string_view ifname_for_errors) {
  rtnl_link* link = nullptr;
  if (const int err = rtnl_link_get_kernel(sock, ifindex, nullptr, &link); err < 0) {
    throw_nl(ifname_for_errors, "reading link", err);
  }
  return LinkPtr(link);
}

LinkPtr fetch_link_by_name(nl_sock* sock, const std::string& ifname) {
  rtnl_link* link = nullptr;
  if (const int err = rtnl_link_get_kernel(sock, 0, ifname.c_str(), &link); err < 0) {
    throw_nl(ifname, "looking up interface", err);
  }
  return LinkPtr(link);
}

LinkState to_link_state(rtnl_link* link) {
  LinkState state;
  state.ifindex = rtnl_link_get_ifindex(link);
  if (const char* name = rtnl_link_get_name(link)) {
    state.name = name;
  }
  state.mtu = rtnl_link_get_mtu(link);
  state.tx_queue_len = rtnl_link_get_txqlen(link);
  state.tx_dropped = rtnl_link_get_stat(link, RTNL_LINK_TX_DROPPED);
  state.rx_dropped = rtnl_link_get_stat(link, RTNL_LINK_RX_DROPPED);
  state.flags = rtnl_link_get_flags(link);
  state.admin_up = (state.flags & IFF_UP) != 0;
  state.lower_up = (state.flags & IFF_LOWER_UP) != 0;
  state.carrier = rtnl_link_get_carrier(link) != 0;
  state.operstate = static_cast<OperState>(rtnl_link_get_operstate(link));
  if (nl_addr* hw = rtnl_link_get_addr(link); hw != nullptr && nl_addr_get_len(hw) == MacAddress::Bytes{}.size()) {
    MacAddress::Bytes bytes{};
    std::memcpy(bytes.data(), nl_addr_get_binary_addr(hw), bytes.size());
    state.mac = MacAddress(bytes);
  }
  return state;
}

}  // namespace netlink
}  // namespace vnic
