#include "vnic/neighbour_table.h"

#include "vnic/netlink_util.h"

#include <linux/neighbour.h>
#include <netlink/route/neighbour.h>

#include <memory>
#include <vector>

namespace vnic {

namespace {

struct NeighDeleter {
  void operator()(rtnl_neigh* neigh) const noexcept { rtnl_neigh_put(neigh); }
};
using NeighPtr = std::unique_ptr<rtnl_neigh, NeighDeleter>;

// RTM_NEWNEIGH with NLM_F_REPLACE for the entry of `destination`; false if it is gone meanwhile.
bool replace_entry(nl_sock* sock, int ifindex, nl_addr* destination, int state, unsigned flags,
                   std::string_view ifname) {
  const NeighPtr request(rtnl_neigh_alloc());
  rtnl_neigh_set_ifindex(request.get(), ifindex);
  rtnl_neigh_set_dst(request.get(), destination);
  rtnl_neigh_set_state(request.get(), state);
  if (flags != 0) {
    rtnl_neigh_set_flags(request.get(), flags);
  }
  const int err = rtnl_neigh_add(sock, request.get(), NLM_F_REPLACE);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NOADDR) {
    return false;  // resolved or collected meanwhile: nothing left to restart
  }
  if (err < 0) {
    netlink::throw_nl(ifname, "restarting neighbour resolution", err);
  }
  return true;
}

}  // namespace

std::size_t restart_unresolved_neighbours(int ifindex, std::string_view ifname) {
  netlink::SocketPtr sock = netlink::connect_route_socket(ifname);
  nl_cache* raw = nullptr;
  if (const int err = rtnl_neigh_alloc_cache(sock.get(), &raw); err < 0) {
    netlink::throw_nl(ifname, "listing neighbour entries", err);
  }
  const netlink::CachePtr cache(raw);
  std::vector<NeighPtr> unresolved;
  for (nl_object* object = nl_cache_get_first(cache.get()); object != nullptr; object = nl_cache_get_next(object)) {
    auto* neigh = reinterpret_cast<rtnl_neigh*>(object);
    const int state = rtnl_neigh_get_state(neigh);
    if (rtnl_neigh_get_ifindex(neigh) == ifindex && state >= 0 && (state & NUD_INCOMPLETE) != 0) {
      nl_object_get(object);
      unresolved.emplace_back(neigh);
    }
  }
  std::size_t restarted = 0;
  for (const NeighPtr& neigh : unresolved) {
    nl_addr* destination = rtnl_neigh_get_dst(neigh.get());
    // Two steps, as `ip neigh change ADDR dev IF nud none` then `... use`: NUD_NONE stops the
    // pending timer and keeps the queue; NTF_USE then makes the kernel solicit at once.
    if (replace_entry(sock.get(), ifindex, destination, NUD_NONE, 0, ifname) &&
        replace_entry(sock.get(), ifindex, destination, NUD_NONE, NTF_USE, ifname)) {
      ++restarted;
    }
  }
  return restarted;
}

}  // namespace vnic
