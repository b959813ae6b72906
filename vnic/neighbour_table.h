#pragma once

#include <cstddef>
#include <string_view>

namespace vnic {

// Makes the interface's neighbour entries (ARP and NDP) that are still resolving (INCOMPLETE)
// send their next solicitation now, keeping the packets queued on them. Resolved, failed and
// permanent entries are left alone. Returns how many were restarted.
//
// Why: while an interface has no carrier, its qdisc drops what the stack sends, solicitations
// included, yet a packet sent then still leaves an INCOMPLETE entry behind, and the kernel asks
// again only when that entry's timer fires (retrans_time_ms, 1 s by default), carrier up or not.
// Done at carrier-up, it is as if the first solicitation had gone out then. (Removing the entries
// instead would fail the queued packets: their senders see EHOSTUNREACH.) Throws vnic::Error
// naming `ifname` on a netlink failure.
std::size_t restart_unresolved_neighbours(int ifindex, std::string_view ifname);

}  // namespace vnic
