#include "vnic/link_control.h"

#include "vnic/error.h"
#include "vnic/netlink_util.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <array>
#include <cstring>

#include <fmt/format.h>

namespace vnic {

namespace {

// Parses and checks a CIDR; libnl alone would also accept "default", "any"
// or a bare address, none of which is an address to put on an interface.
netlink::NlAddrPtr parse_cidr(std::string_view ifname, std::string_view cidr) {
  const std::string text(cidr);
  nl_addr* parsed = nullptr;
  if (const int err = nl_addr_parse(text.c_str(), AF_UNSPEC, &parsed); err < 0) {
    throw Error(ifname, fmt::format("invalid CIDR \"{}\"", cidr), nl_geterror(err));
  }
  netlink::NlAddrPtr address(parsed);
  const int family = nl_addr_get_family(address.get());
  if (family != AF_INET && family != AF_INET6) {
    throw Error(ifname, fmt::format("invalid CIDR \"{}\"", cidr), "not an IPv4 or IPv6 address");
  }
  if (text.find('/') == std::string::npos) {
    throw Error(ifname, fmt::format("invalid CIDR \"{}\"", cidr), "missing /prefix length");
  }
  // libnl takes any prefix length up to 255 and lets the kernel refuse it
  // later with a vaguer message.
  const unsigned max_prefix = family == AF_INET ? 32 : 128;
  if (nl_addr_get_prefixlen(address.get()) > max_prefix) {
    throw Error(ifname, fmt::format("invalid CIDR \"{}\"", cidr), fmt::format("prefix length above {}", max_prefix));
  }
  return address;
}

netlink::NlAddrPtr ipv4_broadcast(nl_addr* local) {
  const unsigned prefix = nl_addr_get_prefixlen(local);
  // /31 and /32 have no broadcast address (RFC 3021).
  if (prefix >= 31) {
    return nullptr;
  }
  std::uint32_t address_be = 0;
  std::memcpy(&address_be, nl_addr_get_binary_addr(local), sizeof address_be);
  const std::uint32_t host_mask = prefix == 0 ? 0xffffffffU : (0xffffffffU >> prefix);
  const std::uint32_t broadcast_be = htonl(ntohl(address_be) | host_mask);
  netlink::NlAddrPtr broadcast(nl_addr_build(AF_INET, &broadcast_be, sizeof broadcast_be));
  return broadcast;
}

netlink::AddrPtr make_address(std::string_view ifname, int ifindex, std::string_view cidr) {
  netlink::NlAddrPtr local = parse_cidr(ifname, cidr);
  netlink::AddrPtr address(rtnl_addr_alloc());
  if (!address) {
    throw Error(ifname, "allocating address", "out of memory");
  }
  rtnl_addr_set_ifindex(address.get(), ifindex);
  rtnl_addr_set_family(address.get(), nl_addr_get_family(local.get()));
  if (const int err = rtnl_addr_set_local(address.get(), local.get()); err < 0) {
    throw Error(ifname, fmt::format("using address {}", cidr), nl_geterror(err));
  }
  rtnl_addr_set_prefixlen(address.get(), static_cast<int>(nl_addr_get_prefixlen(local.get())));
  return address;
}

std::string format_cidr(rtnl_addr* address) {
  nl_addr* local = rtnl_addr_get_local(address);
  const int family = rtnl_addr_get_family(address);
  if (local == nullptr || (family != AF_INET && family != AF_INET6)) {
    return {};
  }
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (::inet_ntop(family, nl_addr_get_binary_addr(local), text.data(), static_cast<socklen_t>(text.size())) ==
      nullptr) {
    return {};
  }
  return fmt::format("{}/{}", text.data(), rtnl_addr_get_prefixlen(address));
}

bool family_matches(IpFamily wanted, int family) {
  switch (wanted) {
    case IpFamily::any:
      return family == AF_INET || family == AF_INET6;
    case IpFamily::ipv4:
      return family == AF_INET;
    case IpFamily::ipv6:
      return family == AF_INET6;
  }
  return false;
}

}  // namespace

void LinkControl::SocketDeleter::operator()(nl_sock* sock) const noexcept { nl_socket_free(sock); }

LinkControl::LinkControl(const std::string& ifname) : ifname_(ifname) {
  netlink::SocketPtr sock = netlink::connect_route_socket(ifname_);
  ifindex_ = rtnl_link_get_ifindex(netlink::fetch_link_by_name(sock.get(), ifname_).get());
  sock_.reset(sock.release());
}

LinkControl::LinkControl(LinkControl&&) noexcept = default;
LinkControl& LinkControl::operator=(LinkControl&&) noexcept = default;
LinkControl::~LinkControl() = default;

LinkState LinkControl::state() const {
  return netlink::to_link_state(netlink::fetch_link(sock_.get(), ifindex_, ifname_).get());
}

unsigned LinkControl::mtu() const { return state().mtu; }

MacAddress LinkControl::mac() const { return state().mac; }

void LinkControl::apply_change(rtnl_link* change, std::string_view action) {
  const netlink::LinkPtr current = netlink::fetch_link(sock_.get(), ifindex_, ifname_);
  if (const int err = rtnl_link_change(sock_.get(), current.get(), change, 0); err < 0) {
    netlink::throw_nl(ifname_, action, err);
  }
}

void LinkControl::set_mtu(unsigned mtu) {
  const netlink::LinkPtr change(rtnl_link_alloc());
  rtnl_link_set_mtu(change.get(), mtu);
  apply_change(change.get(), fmt::format("setting MTU to {}", mtu));
}

void LinkControl::set_mac(const MacAddress& mac) {
  const netlink::NlAddrPtr hw(nl_addr_build(AF_LLC, mac.bytes().data(), mac.bytes().size()));
  const netlink::LinkPtr change(rtnl_link_alloc());
  rtnl_link_set_addr(change.get(), hw.get());
  apply_change(change.get(), fmt::format("setting MAC address to {}", mac.to_string()));
}

void LinkControl::set_admin_up(bool up) {
  const netlink::LinkPtr change(rtnl_link_alloc());
  if (up) {
    rtnl_link_set_flags(change.get(), IFF_UP);
  } else {
    rtnl_link_unset_flags(change.get(), IFF_UP);
  }
  apply_change(change.get(), up ? "setting link up" : "setting link down");
}

void LinkControl::set_tx_queue_len(unsigned frames) {
  const netlink::LinkPtr change(rtnl_link_alloc());
  rtnl_link_set_txqlen(change.get(), frames);
  apply_change(change.get(), fmt::format("setting txqueuelen to {}", frames));
}

std::string LinkControl::alias() const {
  const netlink::LinkPtr link = netlink::fetch_link(sock_.get(), ifindex_, ifname_);
  const char* text = rtnl_link_get_ifalias(link.get());
  return text ? std::string(text) : std::string();
}

void LinkControl::set_alias(std::string_view alias) {
  const netlink::LinkPtr change(rtnl_link_alloc());
  rtnl_link_set_ifalias(change.get(), std::string(alias).c_str());
  apply_change(change.get(), fmt::format("setting alias \"{}\"", alias));
}

std::string LinkControl::kind() const {
  const netlink::LinkPtr link = netlink::fetch_link(sock_.get(), ifindex_, ifname_);
  const char* type = rtnl_link_get_type(link.get());
  return type ? std::string(type) : std::string();
}

void LinkControl::add_address(std::string_view cidr) {
  if (!ensure_address(cidr)) {
    netlink::throw_nl(ifname_, fmt::format("adding address {}", cidr), -NLE_EXIST);
  }
}

bool LinkControl::ensure_address(std::string_view cidr) {
  const netlink::AddrPtr address = make_address(ifname_, ifindex_, cidr);
  if (rtnl_addr_get_family(address.get()) == AF_INET) {
    if (const netlink::NlAddrPtr broadcast = ipv4_broadcast(rtnl_addr_get_local(address.get()))) {
      rtnl_addr_set_broadcast(address.get(), broadcast.get());
    }
  }
  if (const int err = rtnl_addr_add(sock_.get(), address.get(), NLM_F_EXCL); err < 0) {
    if (err == -NLE_EXIST) {
      return false;
    }
    netlink::throw_nl(ifname_, fmt::format("adding address {}", cidr), err);
  }
  return true;
}

void LinkControl::remove_address(std::string_view cidr) {
  const netlink::AddrPtr address = make_address(ifname_, ifindex_, cidr);
  if (const int err = rtnl_addr_delete(sock_.get(), address.get(), 0); err < 0) {
    netlink::throw_nl(ifname_, fmt::format("removing address {}", cidr), err);
  }
}

std::vector<std::string> LinkControl::addresses(IpFamily family) const {
  nl_cache* raw_cache = nullptr;
  if (const int err = rtnl_addr_alloc_cache(sock_.get(), &raw_cache); err < 0) {
    netlink::throw_nl(ifname_, "listing addresses", err);
  }
  const netlink::CachePtr cache(raw_cache);
  std::vector<std::string> result;
  for (nl_object* object = nl_cache_get_first(cache.get()); object != nullptr; object = nl_cache_get_next(object)) {
    auto* address = reinterpret_cast<rtnl_addr*>(object);
    if (rtnl_addr_get_ifindex(address) != ifindex_ || !family_matches(family, rtnl_addr_get_family(address))) {
      continue;
    }
    if (std::string cidr = format_cidr(address); !cidr.empty()) {
      result.push_back(std::move(cidr));
    }
  }
  return result;
}

}  // namespace vnic
