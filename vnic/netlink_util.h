#pragma once

// Internal to the vnic library: the only header besides the .cpp files that
// sees libnl, so users of vnic never need libnl's include paths.

#include "vnic/link_state.h"

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#include <memory>
#include <string>
#include <string_view>

namespace vnic::netlink {

struct SocketDeleter {
  void operator()(nl_sock* sock) const noexcept { nl_socket_free(sock); }
};
struct LinkDeleter {
  void operator()(rtnl_link* link) const noexcept { rtnl_link_put(link); }
};
struct AddrDeleter {
  void operator()(rtnl_addr* addr) const noexcept { rtnl_addr_put(addr); }
};
struct NlAddrDeleter {
  void operator()(nl_addr* addr) const noexcept { nl_addr_put(addr); }
};
struct CacheDeleter {
  void operator()(nl_cache* cache) const noexcept { nl_cache_free(cache); }
};

using SocketPtr = std::unique_ptr<nl_sock, SocketDeleter>;
using LinkPtr = std::unique_ptr<rtnl_link, LinkDeleter>;
using AddrPtr = std::unique_ptr<rtnl_addr, AddrDeleter>;
using NlAddrPtr = std::unique_ptr<nl_addr, NlAddrDeleter>;
using CachePtr = std::unique_ptr<nl_cache, CacheDeleter>;

// A NETLINK_ROUTE socket in the calling thread's network namespace.
SocketPtr connect_route_socket(std::string_view ifname_for_errors);

// Current state of one link; throws vnic::Error naming `ifname_for_errors`.
LinkPtr fetch_link(nl_sock* sock, int ifindex, std::string_view ifname_for_errors);
LinkPtr fetch_link_by_name(nl_sock* sock, const std::string& ifname);

LinkState to_link_state(rtnl_link* link);

// "IFNAME: action: nl_geterror(err)".
[[noreturn]] void throw_nl(std::string_view ifname, std::string_view action, int err);

}  // namespace vnic::netlink
