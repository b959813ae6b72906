// SPDX-License-Identifier: GPL-2.0
/*
 * Taking our slot of a shared LUN (FORMAT.md "A shared LUN", in the manner of
 * sanlock's delta leases), as vnicd does: a slot is free when never written,
 * from an earlier format, or stopped cleanly; ours at once when its running
 * record names this node and interface (our predecessor, gone without a clean
 * stop: a crashed guest, a reboot); anybody else's running record is watched
 * for dead_after plus a heartbeat and taken only if it never moves. The claim
 * is written no later than half the settle time after the read that judged
 * the slot free, then read back after the settle time: of two nodes claiming
 * at once, the last writer keeps the slot and the other refuses, naming it.
 *
 * This runs in ndo_open, under RTNL: an `ip link set up` on a slot whose owner
 * must be watched takes dead_after plus a heartbeat (1.1 s by default) to
 * answer, as a NIC loading its firmware does, and fails with EBUSY naming the
 * owner if the slot is somebody's.
 */
#include <linux/delay.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "vnic.h"

#define SETTLE_MS		50
#define MS(x)			((u64)(x) * NSEC_PER_MSEC)
#define CLAIM_ATTEMPTS		5

enum slot_previous { SLOT_FREE, SLOT_OWN_RESTART, SLOT_STOPPED, SLOT_DEAD };

static const char *slot_previous_name(enum slot_previous previous)
{
	switch (previous) {
	case SLOT_FREE: return "free";
	case SLOT_OWN_RESTART: return "ours (a restart)";
	case SLOT_STOPPED: return "stopped cleanly";
	case SLOT_DEAD: return "dead";
	}
	return "?";
}

/* Reads our slot's record into @r: 0 decoded and in use, 1 not in use, <0 the read failed. */
static int read_slot(struct vnic_priv *priv, struct vnic_state_record *r)
{
	struct vnic_buf *buf = &priv->self.record;
	enum vnic_decode_error e;
	int ret;

	ret = vnic_volume_read(&priv->send, buf, 0, vnic_state_offset(priv->config.slot),
			       VNIC_STATE_STRIDE);
	if (ret)
		return ret;
	e = vnic_decode_state_record(buf->data, r);
	/* Never written, another format's, or unreadable (recovery already said which). */
	if (e || memcmp(r->uuid, priv->send_sb.uuid, sizeof(r->uuid)) ||
	    r->status == VNIC_STATUS_EMPTY)
		return 1;
	return 0;
}

static int refuse(struct vnic_priv *priv, const struct vnic_state_record *owner)
{
	char who[160];

	vnic_describe_owner(owner, who, sizeof(who));
	return vnic_config_error(priv, -EBUSY, "volume %s: slot %u is owned by live %s",
				 priv->config.volume, priv->config.slot, who);
}

/*
 * Whether the slot may be taken; @judged_at is set to the issue time of the read
 * that decided. Returns 0 or a negative errno (EBUSY: somebody else's).
 */
static int judge_slot(struct vnic_priv *priv, struct vnic_state_record *first,
		      struct vnic_state_record *again, enum slot_previous *previous,
		      u64 *judged_at)
{
	u64 heartbeat = MS(priv->config.heartbeat_interval_ms);
	u64 until, now;
	int ret;

	*previous = SLOT_FREE;
	*judged_at = ktime_get_ns();
	ret = read_slot(priv, first);
	if (ret < 0)
		return vnic_config_error(priv, ret, "volume %s: slot %u's record read failed",
					 priv->config.volume, priv->config.slot);
	if (ret > 0)
		return 0;
	if (first->status == VNIC_STATUS_CLEAN_STOP) {
		*previous = SLOT_STOPPED;
		return 0;
	}
	/* Our predecessor, killed: the interface name is ours alone on this node. */
	if (first->version == 2 && !strcmp(first->owner, priv->node_name) &&
	    !strcmp(first->ifname, priv->dev->name)) {
		*previous = SLOT_OWN_RESTART;
		return 0;
	}
	/* Somebody else's running record: theirs while it moves. */
	until = *judged_at + MS(priv->config.dead_after_ms) + heartbeat;
	for (now = ktime_get_ns(); now < until; now = ktime_get_ns()) {
		msleep(div_u64(min(heartbeat, until - now), NSEC_PER_MSEC) + 1);
		now = ktime_get_ns();
		ret = read_slot(priv, again);
		if (ret)
			continue;	/* torn by the owner's write (that is a write): look again */
		if (vnic_records_differ(first, again)) {
			if (again->status != VNIC_STATUS_CLEAN_STOP)
				return refuse(priv, again);
			*previous = SLOT_STOPPED;
			*judged_at = now;
			return 0;
		}
		*first = *again;
		*judged_at = now;
	}
	*previous = SLOT_DEAD;
	return 0;
}

int vnic_claim_slot(struct vnic_priv *priv)
{
	struct vnic_state_record *first, *again;
	enum slot_previous previous;
	char who[160];
	u64 judged_at;
	int attempt, ret;

	first = kzalloc(sizeof(*first), GFP_KERNEL);
	again = kzalloc(sizeof(*again), GFP_KERNEL);
	if (!first || !again) {
		ret = -ENOMEM;
		goto out;
	}
	for (attempt = 0; attempt < CLAIM_ATTEMPTS; attempt++) {
		ret = judge_slot(priv, first, again, &previous, &judged_at);
		if (ret)
			goto out;
		/* A judgement this old may be overtaken by a claim we could not see. */
		if (ktime_get_ns() - judged_at > MS(SETTLE_MS) / 2)
			continue;
		ret = vnic_write_own_record(priv, VNIC_STATUS_RUNNING, ktime_get_ns());
		if (ret) {
			vnic_config_error(priv, ret, "volume %s: slot %u: claim write failed",
					  priv->config.volume, priv->config.slot);
			goto out;
		}
		msleep(SETTLE_MS);
		ret = read_slot(priv, again);
		if (ret < 0) {
			vnic_config_error(priv, ret, "volume %s: slot %u: claim read-back failed",
					  priv->config.volume, priv->config.slot);
			goto out;
		}
		if (ret == 0 && again->epoch != priv->self.epoch) {
			ret = refuse(priv, again);
			goto out;
		}
		if (previous == SLOT_DEAD || previous == SLOT_OWN_RESTART) {
			vnic_describe_owner(first, who, sizeof(who));
			netdev_info(priv->dev, "volume %s: slot %u claimed (it was %s: %s)\n",
				    priv->config.volume, priv->config.slot,
				    slot_previous_name(previous), who);
		} else {
			netdev_info(priv->dev, "volume %s: slot %u claimed (it was %s)\n",
				    priv->config.volume, priv->config.slot,
				    slot_previous_name(previous));
		}
		ret = 0;
		goto out;
	}
	ret = vnic_config_error(priv, -EAGAIN,
				"volume %s: slot %u: the claim could not follow its judgement within %d ms, %d times",
				priv->config.volume, priv->config.slot, SETTLE_MS / 2,
				CLAIM_ATTEMPTS);
out:
	kfree(first);
	kfree(again);
	return ret;
}
