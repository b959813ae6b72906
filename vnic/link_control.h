#pragma once

#include "vnic/link_state.h"
#include "vnic/mac_address.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct nl_sock;
struct rtnl_link;

namespace vnic {

enum class IpFamily { any, ipv4, ipv6 };

// Configures one interface over rtnetlink (libnl-route), like `ip link` and
// `ip addr`. Bound to the network namespace of the thread that constructs it
// and to the interface's index, so a rename does not redirect it.
// Every failure throws vnic::Error "IFNAME: what failed: nl_geterror(...)".
class LinkControl {
 public:
  explicit LinkControl(const std::string& ifname);
  LinkControl(LinkControl&&) noexcept;
  LinkControl& operator=(LinkControl&&) noexcept;
  ~LinkControl();

  const std::string& ifname() const { return ifname_; }
  int ifindex() const { return ifindex_; }

  LinkState state() const;

  unsigned mtu() const;
  void set_mtu(unsigned mtu);

  MacAddress mac() const;
  void set_mac(const MacAddress& mac);

  // IFF_UP, what `ip link set IFNAME up|down` changes.
  void set_admin_up(bool up);

  void set_tx_queue_len(unsigned frames);

  // The interface's alias (`ip link set IFNAME alias TEXT`); empty when it has none.
  std::string alias() const;
  void set_alias(std::string_view alias);
  // The rtnetlink kind: "tun" for a TUN/TAP, "veth", "dummy", ...; empty for a plain device.
  std::string kind() const;

  // CIDR such as "10.77.1.1/24" or "fd00:77::1/64"; IPv4 addresses also get
  // the subnet's broadcast address, as `ip addr add ... brd +` would.
  // Adding an address that is already there is an error.
  void add_address(std::string_view cidr);
  // The same, except that an address already there is left as it is (false): what a daemon
  // re-attaching to an interface that kept its addresses needs.
  bool ensure_address(std::string_view cidr);
  void remove_address(std::string_view cidr);
  // CIDR strings, including kernel-made ones such as the IPv6 link-local.
  std::vector<std::string> addresses(IpFamily family = IpFamily::any) const;

 private:
  struct SocketDeleter {
    void operator()(nl_sock* sock) const noexcept;
  };

  void apply_change(rtnl_link* change, std::string_view action);

  std::string ifname_;
  int ifindex_ = 0;
  std::unique_ptr<nl_sock, SocketDeleter> sock_;
};

}  // namespace vnic
