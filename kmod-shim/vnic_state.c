// SPDX-License-Identifier: GPL-2.0
/*
 * State records and liveness: our record (start, heartbeat, head and acks,
 * clean stop), the peers' records (a pair's one, or a shared LUN's whole
 * table in one read), and the peer monitor that carrier follows.
 * On a shared LUN carrier is on while any peer is alive: vnic0 is one
 * segment, up while somebody else is on it.
 * The rules are FORMAT.md's "When a record is written" and vnicd's: the peer
 * is alive while its record moves, stopped when it wrote a clean stop, and
 * dead when a read issued dead_after or more after the last change still
 * shows none (evidence, not our clock alone: a read we were too busy to issue
 * proves nothing); with no read at all, time alone judges it after twice
 * dead_after. Only our own clock is used.
 */
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/time.h>
#include <linux/ktime.h>

#include "vnic.h"

#define ACK_INTERVAL_NS		(2 * NSEC_PER_MSEC)
#define URGENT_READ_NS		NSEC_PER_MSEC
#define MS(x)			((u64)(x) * NSEC_PER_MSEC)

const char *vnic_peer_state_name(enum vnic_peer_state state)
{
	switch (state) {
	case VNIC_PEER_NO_VOLUME: return "no-volume";
	case VNIC_PEER_UNKNOWN: return "unknown";
	case VNIC_PEER_ALIVE: return "alive";
	case VNIC_PEER_DEAD: return "dead";
	case VNIC_PEER_STOPPED: return "stopped";
	}
	return "?";
}

/* Probes the receive volume: 1 formatted, 0 not yet (all zero), <0 refused. */
static int probe_recv(struct vnic_priv *priv)
{
	struct vnic_superblock sb;
	struct vnic_buf *buf = &priv->self.record;
	char msg[160];
	enum vnic_decode_error e;
	int ret;

	if (priv->shared) {
		priv->recv_sb = priv->send_sb;
		priv->recv_formatted = true;
		return 1;
	}
	ret = vnic_volume_read(&priv->recv, buf, 0, 0, VNIC_STATE_STRIDE);
	if (ret)
		return vnic_config_error(priv, ret, "recv_device %s: superblock read failed",
					 priv->config.recv_device);
	e = vnic_decode_superblock(buf->data, &sb, msg, sizeof(msg));
	if (e == VNIC_DECODE_ALL_ZERO)
		return 0;
	if (e)
		return vnic_config_error(priv, -EINVAL, "recv_device %s: %s",
					 priv->config.recv_device, msg);
	if (sb.slot_count > 1)
		return vnic_config_error(priv, -EINVAL,
					 "recv_device %s: formatted as a shared LUN (%u slots), not as a pair's volume",
					 priv->config.recv_device, sb.slot_count);
	if (priv->config.peer_slot >= sb.slot_count)
		return vnic_config_error(priv, -EINVAL,
					 "peer_slot %u does not exist on recv_device %s (%u slots)",
					 priv->config.peer_slot, priv->config.recv_device,
					 sb.slot_count);
	if (!memcmp(sb.uuid, priv->send_sb.uuid, sizeof(sb.uuid)) &&
	    priv->config.peer_slot == priv->config.slot)
		return vnic_config_error(priv, -EINVAL,
					 "recv_device %s has the same UUID and slot as send_device %s; it must be the peer's",
					 priv->config.recv_device, priv->config.send_device);
	if (priv->recv.bytes < vnic_required_bytes(&sb))
		return vnic_config_error(priv, -EINVAL,
					 "recv_device %s: truncated: the format needs %llu bytes, the volume has %llu",
					 priv->config.recv_device, vnic_required_bytes(&sb),
					 priv->recv.bytes);
	if (sb.block_size % priv->recv.logical_block_size)
		return vnic_config_error(priv, -EINVAL,
					 "recv_device %s: block size %u is not a multiple of the logical block size %u",
					 priv->config.recv_device, sb.block_size,
					 priv->recv.logical_block_size);
	priv->recv_sb = sb;
	priv->recv_formatted = true;
	return 1;
}

/* The send volume or the shared LUN, by the attribute that named it. */
static const char *send_attr(struct vnic_priv *priv)
{
	return priv->shared ? "volume" : "send_device";
}

static const char *send_path(struct vnic_priv *priv)
{
	return priv->shared ? priv->config.volume : priv->config.send_device;
}

static int check_send_superblock(struct vnic_priv *priv)
{
	struct vnic_config *c = &priv->config;
	struct vnic_superblock *sb = &priv->send_sb;
	struct vnic_buf *buf = &priv->self.record;
	const char *attr = send_attr(priv), *path = send_path(priv);
	char msg[160];
	int ret;

	ret = vnic_volume_read(&priv->send, buf, 0, 0, VNIC_STATE_STRIDE);
	if (ret)
		return vnic_config_error(priv, ret, "%s %s: superblock read failed", attr, path);
	if (vnic_decode_superblock(buf->data, sb, msg, sizeof(msg)))
		return vnic_config_error(priv, -EINVAL, "%s %s: %s", attr, path, msg);
	if (c->block_size && c->block_size != sb->block_size)
		return vnic_config_error(priv, -EINVAL,
					 "block_size %u: %s %s is formatted with %u-byte blocks",
					 c->block_size, attr, path, sb->block_size);
	if (!priv->shared && sb->slot_count > 1)
		return vnic_config_error(priv, -EINVAL,
					 "send_device %s: formatted as a shared LUN (%u slots), not as a pair's volume: give it as volume",
					 path, sb->slot_count);
	if (priv->shared && sb->slot_count < 2)
		return vnic_config_error(priv, -EINVAL,
					 "volume %s: formatted as a mirrored pair's volume (1 slot), not as a shared LUN: give it as send_device",
					 path);
	if (c->slot >= sb->slot_count)
		return vnic_config_error(priv, -EINVAL, "slot %u does not exist on %s %s (%u slots)",
					 c->slot, attr, path, sb->slot_count);
	if (priv->send.bytes < vnic_required_bytes(sb))
		return vnic_config_error(priv, -EINVAL,
					 "%s %s: truncated: the format needs %llu bytes, the volume has %llu",
					 attr, path, vnic_required_bytes(sb), priv->send.bytes);
	if (sb->block_size % priv->send.logical_block_size)
		return vnic_config_error(priv, -EINVAL,
					 "%s %s: block size %u is not a multiple of the logical block size %u",
					 attr, path, sb->block_size, priv->send.logical_block_size);
	return 0;
}

/*
 * FORMAT.md "Restarts": after a clean stop continue at the head; after a
 * crash walk our own blocks past it, then skip 64 more sequences.
 */
static int recover_sequence(struct vnic_priv *priv)
{
	struct vnic_self *self = &priv->self;
	struct vnic_superblock *sb = &priv->send_sb;
	struct vnic_buf *buf = &priv->self.record;
	u32 unit = max_t(u32, priv->send.logical_block_size, VNIC_WRITE_UNIT);
	struct vnic_state_record r;
	struct vnic_block_header h;
	enum vnic_decode_error e;
	enum vnic_block_check check;
	u64 sequence, walked;
	int ret;

	self->first_sequence = 1;
	self->heartbeat = 0;
	ret = vnic_volume_read(&priv->send, buf, 0, vnic_state_offset(priv->config.slot),
			       VNIC_STATE_STRIDE);
	if (ret)
		return vnic_config_error(priv, ret, "%s %s: state record read failed",
					 send_attr(priv), send_path(priv));
	e = vnic_decode_state_record(buf->data, &r);
	if (e == VNIC_DECODE_ALL_ZERO)
		return 0;
	if (e)
		return vnic_config_error(priv, -EINVAL, "%s %s: own state record (slot %u) is unreadable",
					 send_attr(priv), send_path(priv), priv->config.slot);
	if (memcmp(r.uuid, sb->uuid, sizeof(r.uuid)) || r.status == VNIC_STATUS_EMPTY)
		return 0;
	self->heartbeat = r.heartbeat;
	sequence = max_t(u64, r.head_sequence, 1);
	if (r.status == VNIC_STATUS_CLEAN_STOP) {
		self->first_sequence = sequence;
		return 0;
	}
	/* The header alone proves a sequence was handed out, even if the block is torn. */
	for (walked = 0; walked < sb->ring_blocks; walked++, sequence++) {
		ret = vnic_volume_read(&priv->send, buf, 0,
				       vnic_block_offset(sb, priv->config.slot, sequence), unit);
		if (ret)
			return vnic_config_error(priv, ret, "%s %s: ring read failed",
						 send_attr(priv), send_path(priv));
		check = vnic_decode_block(buf->data, unit, sb->block_size, &h);
		if ((check != VNIC_BLOCK_OK && check != VNIC_BLOCK_NEED_MORE) ||
		    h.volume_tag != vnic_volume_tag(sb) || h.slot != priv->config.slot ||
		    h.sequence != sequence)
			break;
	}
	self->first_sequence = sequence + VNIC_RESTART_SEQUENCE_GAP;
	return 0;
}


static u64 own_head(struct vnic_priv *priv)
{
	u64 head;

	spin_lock_bh(&priv->lock);
	head = priv->tx.durable_head;
	spin_unlock_bh(&priv->lock);
	return head;
}

int vnic_write_own_record(struct vnic_priv *priv, u32 status, u64 now)
{
	struct vnic_self *self = &priv->self;
	struct vnic_state_record *r;
	struct vnic_peer *p;
	int ret;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	r->version = priv->shared ? 2 : 1;
	r->slot = priv->config.slot;
	memcpy(r->uuid, priv->send_sb.uuid, sizeof(r->uuid));
	r->epoch = self->epoch;
	r->status = status;
	r->heartbeat = self->heartbeat;
	r->head_sequence = own_head(priv);
	r->writer_monotonic_ns = now;
	r->epoch_first_sequence = self->first_sequence;
	vnic_for_each_peer(priv, p) {
		r->acks[p->slot] = vnic_rx_consumed(p);
		p->published_ack = r->acks[p->slot];
	}
	if (priv->shared) {
		strscpy(r->owner, priv->node_name, sizeof(r->owner));
		strscpy(r->ifname, priv->dev->name, sizeof(r->ifname));
		r->started_unix_ns = priv->started_unix_ns;
	}
	memset(self->record.data, 0, VNIC_STATE_STRIDE);
	vnic_encode_state_record(r, self->record.data);
	self->published_head = r->head_sequence;
	self->published_ns = now;
	kfree(r);
	ret = vnic_volume_write(&priv->send, &self->record, vnic_state_offset(priv->config.slot),
				VNIC_STATE_STRIDE);
	vnic_count(priv, ret ? VNIC_C_state_write_errors : VNIC_C_state_writes, 1);
	return ret;
}

int vnic_state_start(struct vnic_priv *priv)
{
	struct vnic_self *self = &priv->self;
	u64 now;
	int ret;

	ret = check_send_superblock(priv);
	if (ret)
		return ret;
	if (priv->shared)
		priv->peer_count = priv->send_sb.slot_count;
	ret = probe_recv(priv);
	if (ret < 0)
		return ret;
	if (!priv->shared)
		priv->peers[0].state = ret > 0 ? VNIC_PEER_UNKNOWN : VNIC_PEER_NO_VOLUME;
	ret = recover_sequence(priv);
	if (ret)
		return ret;
	do {
		self->epoch = get_random_u64();
	} while (!self->epoch);
	priv->tx.next_sequence = self->first_sequence;
	priv->tx.durable_head = self->first_sequence;
	priv->started_unix_ns = ktime_get_real_ns();
	/* Before any block: a reader can always tell our epoch from a dead writer's. */
	if (priv->shared) {
		ret = vnic_claim_slot(priv);
		if (ret)
			return ret;
	} else {
		ret = vnic_write_own_record(priv, VNIC_STATUS_RUNNING, ktime_get_ns());
		if (ret)
			return vnic_config_error(priv, ret, "send_device %s: state record write failed",
						 priv->config.send_device);
	}
	now = ktime_get_ns();
	self->heartbeat_counted_ns = now;
	self->next_heartbeat_ns = now + MS(priv->config.heartbeat_interval_ms);
	self->next_peer_read_ns = now;
	self->next_probe_ns = now + MS(priv->config.heartbeat_interval_ms);
	return 0;
}

void vnic_state_stop(struct vnic_priv *priv)
{
	/* The slot is somebody else's now: a clean stop from us would end their run. */
	if (READ_ONCE(priv->slot_lost))
		return;
	priv->self.heartbeat++;
	if (vnic_write_own_record(priv, VNIC_STATUS_CLEAN_STOP, ktime_get_ns()))
		netdev_warn(priv->dev, "clean-stop record write failed: the peers will judge us dead instead\n");
}

bool vnic_records_differ(const struct vnic_state_record *a, const struct vnic_state_record *b)
{
	return a->epoch != b->epoch || a->heartbeat != b->heartbeat ||
	       a->head_sequence != b->head_sequence || a->status != b->status;
}

void vnic_describe_owner(const struct vnic_state_record *r, char *out, size_t len)
{
	struct tm tm;
	int n;

	if (r->version != 2 || !r->owner[0])
		n = scnprintf(out, len, "node (unnamed: a version 1 record)");
	else
		n = scnprintf(out, len, "node \"%s\" (%s)", r->owner, r->ifname[0] ? r->ifname : "?");
	if (!r->started_unix_ns)
		return;
	time64_to_tm(div_u64(r->started_unix_ns, NSEC_PER_SEC), 0, &tm);
	scnprintf(out + n, len - n, ", running since %04ld-%02d-%02dT%02d:%02d:%02dZ",
		  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void peer_change(struct vnic_priv *priv, struct vnic_peer *p, enum vnic_peer_state next)
{
	if (p->state == next)
		return;
	netdev_info(priv->dev, "peer in slot %u %s -> %s\n", p->slot, vnic_peer_state_name(p->state),
		    vnic_peer_state_name(next));
	WRITE_ONCE(p->state, next);
	vnic_count(priv, VNIC_C_peer_transitions, 1);
}

static bool peer_watched(const struct vnic_peer *p)
{
	return (p->state == VNIC_PEER_ALIVE || p->state == VNIC_PEER_UNKNOWN) && p->have_record;
}

/* Time alone, with no read to judge by: only after twice dead_after. */
static void peer_tick(struct vnic_priv *priv, struct vnic_peer *p, u64 now)
{
	if (peer_watched(p) && now >= p->last_change_ns &&
	    now - p->last_change_ns >= 2 * MS(priv->config.dead_after_ms))
		peer_change(priv, p, VNIC_PEER_DEAD);
}

/*
 * A read issued at @issued showed no change. The change itself is dated by the
 * completion of the read that saw it, so a read issued dead_after after that
 * cannot have raced it.
 */
static void peer_no_news(struct vnic_priv *priv, struct vnic_peer *p, u64 issued, u64 now)
{
	if (peer_watched(p) && issued >= p->last_change_ns &&
	    issued - p->last_change_ns >= MS(priv->config.dead_after_ms))
		peer_change(priv, p, VNIC_PEER_DEAD);
	else
		peer_tick(priv, p, now);
}

/* Under the lock: `peers` in sysfs copies it while we read the next. */
static void keep_record(struct vnic_priv *priv, struct vnic_peer *p,
			const struct vnic_state_record *r)
{
	spin_lock_bh(&priv->lock);
	p->last = *r;
	p->have_record = true;
	spin_unlock_bh(&priv->lock);
}

/*
 * @r: NULL when the record was never written (or is from an earlier format).
 * @issued: when the read that returned it was issued; @now: when it completed.
 */
static void peer_observe(struct vnic_priv *priv, struct vnic_peer *p,
			 const struct vnic_state_record *r, u64 issued, u64 now)
{
	bool moved, first_look;

	if (!r || r->status == VNIC_STATUS_EMPTY) {
		bool first = !p->have_record && p->state == VNIC_PEER_NO_VOLUME;

		WRITE_ONCE(p->have_record, false);
		if (first)
			peer_change(priv, p, VNIC_PEER_UNKNOWN);
		else
			peer_no_news(priv, p, issued, now);
		return;
	}
	if (r->status == VNIC_STATUS_CLEAN_STOP) {
		keep_record(priv, p, r);
		peer_change(priv, p, VNIC_PEER_STOPPED);
		return;
	}
	moved = p->have_record && vnic_records_differ(&p->last, r);
	first_look = !p->have_record;
	keep_record(priv, p, r);
	if (moved) {
		p->last_change_ns = now;
		peer_change(priv, p, VNIC_PEER_ALIVE);
		return;
	}
	if (first_look) {
		/* One sample cannot tell a live writer from a record a dead one left. */
		p->last_change_ns = now;
		peer_change(priv, p, p->state == VNIC_PEER_ALIVE ? VNIC_PEER_ALIVE : VNIC_PEER_UNKNOWN);
		return;
	}
	peer_no_news(priv, p, issued, now);
}

/* A peer counts for our flow control: alive, or not yet judged. */
bool vnic_peer_takes_traffic(const struct vnic_peer *p)
{
	enum vnic_peer_state state = READ_ONCE(p->state);

	return state == VNIC_PEER_ALIVE || state == VNIC_PEER_UNKNOWN;
}

/* One peer's record, as read at @data by a read issued at @issued that completed at @now. */
static void take_peer_record(struct vnic_priv *priv, struct vnic_peer *p, const u8 *data,
			     u64 issued, u64 now)
{
	struct vnic_state_record *r = priv->record_scratch;
	enum vnic_decode_error e = vnic_decode_state_record(data, r);
	u64 acked;

	if (e == VNIC_DECODE_ALL_ZERO ||
	    (e == VNIC_DECODE_OK && memcmp(r->uuid, priv->recv_sb.uuid, sizeof(r->uuid)))) {
		/* never written, or from before the format */
		peer_observe(priv, p, NULL, issued, now);
		return;
	}
	if (e || r->slot != p->slot) {
		/* An unreadable record is still a read that found no sign of life. */
		vnic_count(priv, VNIC_C_state_unreadable, 1);
		peer_no_news(priv, p, issued, now);
		return;
	}
	p->seen_at_ns = now;
	peer_observe(priv, p, r, issued, now);
	if (r->status != VNIC_STATUS_EMPTY) {
		if (!p->rx.attached)
			vnic_rx_attach(priv, p, r, now);
		else
			vnic_rx_note_writer(priv, p, r, now);
	}
	acked = r->acks[priv->config.slot];
	spin_lock_bh(&priv->lock);
	if (acked != p->acked)
		p->acked_moved_ns = now;
	p->acked = acked;
	spin_unlock_bh(&priv->lock);
}

/*
 * Our own slot in the table: another epoch running there means another node
 * took it (we were judged dead, or somebody was started on our slot). We stop
 * writing at once, as FORMAT.md says, and say who has it.
 */
static void check_own_slot(struct vnic_priv *priv, const u8 *data)
{
	struct vnic_state_record *r = priv->record_scratch;
	char owner[160];

	if (vnic_decode_state_record(data, r) || memcmp(r->uuid, priv->send_sb.uuid, sizeof(r->uuid)) ||
	    r->epoch == priv->self.epoch || r->status != VNIC_STATUS_RUNNING)
		return;
	vnic_describe_owner(r, owner, sizeof(owner));
	vnic_config_error(priv, -EBUSY, "volume %s: slot %u was taken over by %s: vnic0 writes nothing more",
			  priv->config.volume, priv->config.slot, owner);
	WRITE_ONCE(priv->slot_lost, true);
	vnic_count(priv, VNIC_C_slot_lost, 1);
}

/* The peers' records: a pair's one, or a shared LUN's whole table in one read. */
static void read_peer_records(struct vnic_priv *priv, u64 issued)
{
	struct vnic_volume *vol = vnic_recv_volume(priv);
	struct vnic_buf *buf = &priv->rx_block;
	u32 slots = priv->shared ? priv->recv_sb.slot_count : 1;
	u64 offset = vnic_state_offset(priv->shared ? 0 : priv->config.peer_slot);
	struct vnic_peer *p;
	u64 now;
	int ret;

	vnic_count(priv, VNIC_C_state_reads, 1);
	priv->self.last_peer_read_ns = issued;
	ret = vnic_volume_read(vol, buf, 0, offset, (size_t)slots * VNIC_STATE_STRIDE);
	now = ktime_get_ns();
	vnic_for_each_peer(priv, p) {
		if (ret) {
			vnic_count(priv, VNIC_C_state_unreadable, 1);
			peer_no_news(priv, p, issued, now);
			continue;
		}
		take_peer_record(priv, p, buf->data + (priv->shared ? p->slot : 0) * VNIC_STATE_STRIDE,
				 issued, now);
	}
	if (!ret && priv->shared && !priv->slot_lost)
		check_own_slot(priv, buf->data + priv->config.slot * VNIC_STATE_STRIDE);
}

static u64 own_record_due(struct vnic_priv *priv, u64 head)
{
	struct vnic_self *self = &priv->self;
	u64 ring = priv->recv_formatted ? priv->recv_sb.ring_blocks : 0;
	u64 eighth = max_t(u64, 1, ring / 8), noticeable = max_t(u64, 1, ring / 32);
	u64 due = self->next_heartbeat_ns;
	struct vnic_peer *p;

	/* Our head goes out an interval after the blocks that moved it. */
	if (head != self->published_head)
		due = min(due, self->published_ns + ACK_INTERVAL_NS);
	/* Acks: at once after an eighth of a ring, an interval after a 32nd. */
	vnic_for_each_peer(priv, p) {
		u64 ack = vnic_rx_consumed(p);

		if (ack == p->published_ack)
			continue;
		if (ack >= p->published_ack + eighth)
			return 0;
		if (ack >= p->published_ack + noticeable)
			due = min(due, self->published_ns + ACK_INTERVAL_NS);
	}
	return due;
}

static bool tx_holding(struct vnic_priv *priv)
{
	bool holding;

	spin_lock_bh(&priv->lock);
	holding = priv->tx.hold_since_ns != 0;
	spin_unlock_bh(&priv->lock);
	return holding;
}

static u64 peer_read_due(struct vnic_priv *priv)
{
	u64 due = priv->self.next_peer_read_ns;
	struct vnic_peer *p;

	/* A writer holding for a peer's ack asks sooner than the heartbeat. */
	if (tx_holding(priv))
		due = min(due, priv->self.last_peer_read_ns + URGENT_READ_NS);
	/* The read that can prove a peer dead goes out as soon as it can. */
	vnic_for_each_peer(priv, p) {
		u64 verdict = p->last_change_ns + MS(priv->config.dead_after_ms);

		if (peer_watched(p) && priv->self.last_peer_read_ns < verdict)
			due = min(due, verdict);
	}
	return due;
}

static bool segment_carrier(struct vnic_priv *priv)
{
	struct vnic_peer *p;

	if (READ_ONCE(priv->slot_lost))
		return false;
	vnic_for_each_peer(priv, p) {
		if (p->state == VNIC_PEER_ALIVE && p->rx.attached)
			return true;
	}
	return false;
}

void vnic_state_poll(struct vnic_priv *priv, u64 now)
{
	struct vnic_self *self = &priv->self;
	u64 interval = MS(priv->config.heartbeat_interval_ms);
	struct vnic_peer *p;
	bool carrier;

	if (!priv->recv_formatted) {
		if (now >= self->next_probe_ns) {
			self->next_probe_ns = now + interval;
			if (probe_recv(priv) > 0)
				peer_observe(priv, &priv->peers[0], NULL, now, now);
		}
	} else if (now >= peer_read_due(priv)) {
		if (now >= self->next_peer_read_ns)
			self->next_peer_read_ns = now + interval;
		read_peer_records(priv, now);
		queue_work(priv->wq, &priv->tx.work);	/* an ack may have moved */
	}
	vnic_for_each_peer(priv, p)
		peer_tick(priv, p, now);

	carrier = segment_carrier(priv);
	if (carrier != netif_carrier_ok(priv->dev)) {
		if (carrier)
			netif_carrier_on(priv->dev);
		else
			netif_carrier_off(priv->dev);
		vnic_count(priv, VNIC_C_carrier_changes, 1);
		netdev_info(priv->dev, "carrier %s\n", carrier ? "on" : "off");
	}

	if (READ_ONCE(priv->slot_lost))
		return;
	if (now >= own_record_due(priv, own_head(priv))) {
		/* The counter moves at most once an interval, however often records go out. */
		if (now >= self->heartbeat_counted_ns + interval) {
			self->heartbeat++;
			self->heartbeat_counted_ns = now;
		}
		self->next_heartbeat_ns = now + interval;
		if (vnic_write_own_record(priv, VNIC_STATUS_RUNNING, now))
			self->next_heartbeat_ns = now;	/* a missed heartbeat looks like death */
	}
}

u64 vnic_state_next_due(struct vnic_priv *priv, u64 now)
{
	u64 due = READ_ONCE(priv->slot_lost) ? U64_MAX : own_record_due(priv, own_head(priv));
	struct vnic_peer *p;

	if (!priv->recv_formatted)
		due = min(due, priv->self.next_probe_ns);
	else
		due = min(due, peer_read_due(priv));
	/* Time alone judges only when no read could be issued (peer_tick). */
	vnic_for_each_peer(priv, p) {
		if (peer_watched(p))
			due = min(due, p->last_change_ns + 2 * MS(priv->config.dead_after_ms));
	}
	return due;
}
