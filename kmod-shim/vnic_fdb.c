// SPDX-License-Identifier: GPL-2.0
/*
 * Destinations on a shared LUN (FORMAT.md "A shared LUN", "Destinations"): where
 * each MAC address lives, learnt as a learning bridge learns, from the source
 * of every frame a slot's writer delivers to us. An entry holds while the
 * writer that taught it (that slot's epoch) is alive, and for at most 300 s
 * without a frame from it. A frame to a learnt unicast address is for that
 * slot alone; broadcast, multicast and unlearnt addresses are for every slot.
 * The mask is a hint that saves the other readers work, never a filter that
 * decides delivery: they drop a frame not for their MAC, as on a hub.
 */
#include <linux/etherdevice.h>
#include <linux/jhash.h>
#include <linux/spinlock.h>

#include "vnic.h"

#define ENTRY_LIFETIME_NS	(300ULL * NSEC_PER_SEC)
#define PROBES			8

static u32 bucket(const u8 *mac)
{
	return jhash(mac, ETH_ALEN, 0) % VNIC_FDB_SIZE;
}

void vnic_fdb_learn(struct vnic_priv *priv, const u8 *mac, u32 slot, u64 epoch, u64 now)
{
	struct vnic_fdb_entry *e, *victim = NULL;
	u32 i, at = bucket(mac);

	if (!is_valid_ether_addr(mac) || slot >= VNIC_MAX_SLOTS)
		return;
	spin_lock_bh(&priv->fdb_lock);
	for (i = 0; i < PROBES; i++) {
		e = &priv->fdb[(at + i) % VNIC_FDB_SIZE];
		if (e->used && ether_addr_equal(e->mac, mac)) {
			victim = e;
			break;
		}
		/* The first free entry, else the stalest of those probed. */
		if (!victim || (victim->used && (!e->used || e->seen_ns < victim->seen_ns)))
			victim = e;
	}
	ether_addr_copy(victim->mac, mac);
	victim->slot = slot;
	victim->epoch = epoch;
	victim->seen_ns = now;
	victim->used = true;
	spin_unlock_bh(&priv->fdb_lock);
}

/* The block destinations of a frame to @mac. */
u64 vnic_fdb_destinations(struct vnic_priv *priv, const u8 *mac, u64 now)
{
	const struct vnic_fdb_entry *e;
	const struct vnic_peer *p;
	u64 mask = VNIC_ALL_DESTINATIONS;
	u32 i, at;

	if (is_multicast_ether_addr(mac))
		return mask;
	at = bucket(mac);
	spin_lock_bh(&priv->fdb_lock);
	for (i = 0; i < PROBES; i++) {
		e = &priv->fdb[(at + i) % VNIC_FDB_SIZE];
		if (!e->used || !ether_addr_equal(e->mac, mac))
			continue;
		if (e->slot < priv->peer_count && now - e->seen_ns < ENTRY_LIFETIME_NS) {
			p = &priv->peers[e->slot];
			/* Only while the writer that taught it is the one alive in that slot. */
			if (READ_ONCE(p->state) == VNIC_PEER_ALIVE && READ_ONCE(p->rx.epoch) == e->epoch)
				mask = 1ULL << e->slot;
		}
		break;
	}
	spin_unlock_bh(&priv->fdb_lock);
	return mask;
}

void vnic_fdb_clear(struct vnic_priv *priv)
{
	spin_lock_bh(&priv->fdb_lock);
	memset(priv->fdb, 0, sizeof(priv->fdb));
	spin_unlock_bh(&priv->fdb_lock);
}
