// SPDX-License-Identifier: GPL-2.0
/*
 * Receive: the poll work reads each peer's ring one block at a time, in
 * sequence order, and applies FORMAT.md's "Reading rules": a block is taken
 * only with the right magic, version, CRC, slot, volume tag, sequence and a
 * current epoch; torn or absent blocks are re-read and skipped only after
 * torn_timeout past the moment the writer was known to be past them; a lap
 * resyncs. On a shared LUN a block whose destinations leave out our slot is
 * consumed without being delivered (FORMAT.md "A shared LUN"). Frames are
 * built into skbs here and handed to the stack by NAPI.
 */
#include <linux/etherdevice.h>
#include <linux/math64.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/ktime.h>
#include <linux/virtio_net.h>

#include "vnic.h"

#define RX_BLOCKS_PER_TURN	64
#define RX_BACKLOG_LIMIT	2048
#define SPIN_WINDOW_NS		(2 * NSEC_PER_MSEC)
/* Joining: beyond ack_interval, how much later than its stamp a record may land. */
#define JOIN_MARGIN_NS		(10 * NSEC_PER_MSEC)
#define ACK_INTERVAL_NS		(2 * NSEC_PER_MSEC)

enum slot_state { NOT_YET, INVALID, READY, LAPPED, FAILED };

u64 vnic_rx_consumed(const struct vnic_peer *p)
{
	return p->rx.attached ? p->rx.next - 1 : 0;
}

static void abandon_partial(struct vnic_priv *priv, struct vnic_rx *rx)
{
	if (rx->partial_open)
		vnic_count(priv, VNIC_C_rx_dropped_partial_frames, 1);
	rx->partial_open = false;
	rx->partial_length = 0;
}

static void resync(struct vnic_priv *priv, struct vnic_rx *rx, u64 to, u64 now)
{
	abandon_partial(priv, rx);
	rx->next = to;
	rx->continuous = false;
	rx->tail_not_ours = false;
	rx->past_since_ns = 0;
	rx->unready_since_ns = 0;
	rx->waiting_since_ns = 0;
	rx->ahead_probed_upto = 0;
	memset(rx->ahead_sequence, 0, sizeof(rx->ahead_sequence));
	rx->next_poll_ns = now;
}

static void advance(struct vnic_rx *rx)
{
	rx->next++;
	rx->unready_since_ns = 0;
	rx->waiting_since_ns = 0;
	if (rx->ahead_sequence[rx->next % VNIC_RX_AHEAD] == rx->next)
		rx->unready_since_ns = rx->ahead_bad_since_ns[rx->next % VNIC_RX_AHEAD];
	/* The writer's head still above us covers the next block too, from the same moment. */
	if (rx->past_head <= rx->next)
		rx->past_since_ns = 0;
}

/* FORMAT.md "Joining": attach at the head, skip what was stamped before we looked. */
void vnic_rx_attach(struct vnic_priv *priv, struct vnic_peer *p,
		    const struct vnic_state_record *r, u64 now)
{
	struct vnic_rx *rx = &p->rx;

	/* A frame split across blocks needs room; without it such frames are dropped, counted. */
	if (!rx->partial)
		rx->partial = kvmalloc(VNIC_MAX_FRAME_BYTES, GFP_KERNEL);
	rx->attached = true;
	rx->epoch = r->epoch;
	rx->writer_epoch = r->epoch;
	rx->writer_first_sequence = r->epoch_first_sequence;
	rx->writer_head = r->head_sequence;
	rx->past_head = 0;
	resync(priv, rx, max3(r->head_sequence, r->epoch_first_sequence, 1ULL), now);
	rx->skip_written_before_ns = r->writer_monotonic_ns + ACK_INTERVAL_NS + JOIN_MARGIN_NS;
	rx->skipping_old = true;
	rx->poll_interval_ns = (u64)priv->config.poll_min_us * NSEC_PER_USEC;
	netdev_info(priv->dev, "attached to slot %u's ring at sequence %llu, epoch %016llx\n",
		    p->slot, rx->next, rx->epoch);
}

void vnic_rx_note_writer(struct vnic_priv *priv, struct vnic_peer *p,
			 const struct vnic_state_record *r, u64 now)
{
	struct vnic_rx *rx = &p->rx;

	rx->writer_epoch = r->epoch;
	rx->writer_first_sequence = r->epoch_first_sequence;
	rx->writer_head = r->head_sequence;
	/* Its head covers our sequence in our epoch, or from a writer begun at or before it. */
	if ((r->epoch == rx->epoch || r->epoch_first_sequence <= rx->next) &&
	    r->head_sequence > rx->next && !rx->past_since_ns) {
		rx->past_since_ns = now;
		rx->past_head = r->head_sequence;
	}
}

static bool acceptable_epoch(struct vnic_rx *rx, u64 epoch, u64 sequence)
{
	return epoch == rx->epoch ||
	       (epoch == rx->writer_epoch && sequence >= rx->writer_first_sequence);
}

static void deliver_frame(struct vnic_priv *priv, struct vnic_peer *p, const u8 *bytes,
			  u32 length)
{
	struct net_device *dev = priv->dev;
	struct virtio_net_hdr vnet;
	struct sk_buff *skb;
	u32 eth_length;

	if (length < VNIC_VNET_HDR_BYTES + ETH_HLEN) {
		vnic_count(priv, VNIC_C_rx_bad_frames, 1);
		return;
	}
	memcpy(&vnet, bytes, VNIC_VNET_HDR_BYTES);
	eth_length = length - VNIC_VNET_HDR_BYTES;
	skb = netdev_alloc_skb_ip_align(dev, eth_length);
	if (!skb) {
		dev->stats.rx_dropped++;
		return;
	}
	skb_put_data(skb, bytes + VNIC_VNET_HDR_BYTES, eth_length);
	/* As tun does for a TAP writer: the header may carry a checksum or GSO request. */
	if (virtio_net_hdr_to_skb(skb, &vnet, true)) {
		vnic_count(priv, VNIC_C_rx_bad_frames, 1);
		kfree_skb(skb);
		return;
	}
	/* A learning bridge's rule: the source lives behind the slot that wrote it. */
	if (priv->shared)
		vnic_fdb_learn(priv, eth_hdr(skb)->h_source, p->slot, p->rx.epoch, p->rx.last_data_ns);
	skb->protocol = eth_type_trans(skb, dev);
	skb_queue_tail(&priv->deliver, skb);
}

/*
 * The records must exactly tile [header, valid_bytes), only the first may lack
 * FIRST and only the last may lack LAST; otherwise nothing in it is trusted.
 */
static bool records_well_formed(const u8 *block, const struct vnic_block_header *h)
{
	u32 end = h->valid_bytes, pos = vnic_block_header_bytes(h->version), i, length;
	u16 flags;

	for (i = 0; i < h->record_count; i++) {
		if (pos + VNIC_RECORD_HEADER_BYTES > end)
			return false;
		vnic_decode_record_header(block + pos, &length, &flags);
		if (flags & ~(VNIC_RECORD_FIRST | VNIC_RECORD_LAST))
			return false;
		if ((!(flags & VNIC_RECORD_FIRST) && i != 0) ||
		    (!(flags & VNIC_RECORD_LAST) && i + 1 != h->record_count))
			return false;
		if (!length || length > end - pos - VNIC_RECORD_HEADER_BYTES)
			return false;
		pos += VNIC_RECORD_HEADER_BYTES + length;
	}
	return pos == end;
}

static void take_frames(struct vnic_priv *priv, struct vnic_peer *p, const u8 *block,
			const struct vnic_block_header *h)
{
	struct vnic_rx *rx = &p->rx;
	u32 pos = vnic_block_header_bytes(h->version), i, length;
	bool tail_not_ours = rx->tail_not_ours;
	u16 flags;

	rx->tail_not_ours = false;
	if (!rx->continuous)
		abandon_partial(priv, rx);
	for (i = 0; i < h->record_count; i++) {
		const u8 *bytes = block + pos + VNIC_RECORD_HEADER_BYTES;

		vnic_decode_record_header(block + pos, &length, &flags);
		pos += VNIC_RECORD_HEADER_BYTES + length;
		if (flags & VNIC_RECORD_FIRST) {
			abandon_partial(priv, rx);
			if (flags & VNIC_RECORD_LAST) {
				deliver_frame(priv, p, bytes, length);
				continue;
			}
			if (!rx->partial) {
				vnic_count(priv, VNIC_C_rx_dropped_partial_frames, 1);
				continue;
			}
			rx->partial_open = true;
		} else if (!rx->partial_open) {
			/* The tail of a frame whose head we never saw (or that was not for us). */
			if (!(i == 0 && tail_not_ours))
				vnic_count(priv, VNIC_C_rx_dropped_partial_frames, 1);
			continue;
		}
		if (rx->partial_length + length > VNIC_MAX_FRAME_BYTES) {
			abandon_partial(priv, rx);
			continue;
		}
		memcpy(rx->partial + rx->partial_length, bytes, length);
		rx->partial_length += length;
		if (flags & VNIC_RECORD_LAST) {
			deliver_frame(priv, p, rx->partial, rx->partial_length);
			rx->partial_open = false;
			rx->partial_length = 0;
		}
	}
}

/* A block not for us, read no further than its header (its CRC held): nothing to deliver. */
static bool header_only(const struct vnic_priv *priv, const struct vnic_block_header *h)
{
	return h->version == 2 && !vnic_block_for_slot(h, priv->config.slot) &&
	       !(h->flags & VNIC_BLOCK_AUTHENTICATED);
}

/* Reads block rx->next and classifies it; @h is filled for READY and LAPPED. */
static enum slot_state read_next(struct vnic_priv *priv, struct vnic_peer *p,
				 struct vnic_block_header *h)
{
	struct vnic_rx *rx = &p->rx;
	struct vnic_volume *vol = vnic_recv_volume(priv);
	struct vnic_buf *buf = &priv->rx_block;
	const struct vnic_superblock *sb = &priv->recv_sb;
	u32 lbs = vol->logical_block_size;
	u32 first = min(sb->block_size, max_t(u32, lbs, VNIC_WRITE_UNIT));
	u64 offset = vnic_block_offset(sb, p->slot, rx->next);
	enum vnic_block_check check;
	u64 laps;

	vnic_count(priv, VNIC_C_rx_reads, 1);
	if (vnic_volume_read(vol, buf, 0, offset, first)) {
		vnic_count(priv, VNIC_C_rx_read_errors, 1);
		return FAILED;
	}
	check = vnic_decode_block(buf->data, first, sb->block_size, h);
	if (check == VNIC_BLOCK_NEED_MORE && header_only(priv, h)) {
		check = VNIC_BLOCK_OK;
	} else if (check == VNIC_BLOCK_NEED_MORE) {
		u32 rest = round_up(h->valid_bytes, lbs) - first;

		vnic_count(priv, VNIC_C_rx_reads, 1);
		if (vnic_volume_read(vol, buf, first, offset + first, rest)) {
			vnic_count(priv, VNIC_C_rx_read_errors, 1);
			return FAILED;
		}
		check = vnic_decode_block(buf->data, first + rest, sb->block_size, h);
	}
	if (check == VNIC_BLOCK_EMPTY)
		return NOT_YET;
	if (check != VNIC_BLOCK_OK)
		return INVALID;	/* torn, or corrupt: re-read until the timeout */
	if (h->volume_tag != vnic_volume_tag(sb) || h->slot != p->slot)
		return NOT_YET;	/* left over from an earlier format */
	if (h->sequence < rx->next)
		return NOT_YET;	/* the previous lap */
	/* Keys are not supported: an authenticated block is never acted on. */
	if (h->flags & VNIC_BLOCK_AUTHENTICATED) {
		if (rx->auth_counted_sequence != rx->next) {
			rx->auth_counted_sequence = rx->next;
			vnic_count(priv, VNIC_C_rx_auth_no_key_blocks, 1);
		}
		return INVALID;
	}
	if (h->sequence == rx->next) {
		if (acceptable_epoch(rx, h->epoch, h->sequence))
			return READY;
		vnic_count(priv, VNIC_C_rx_stale_epoch_blocks, 1);
		priv->self.next_peer_read_ns = 0;	/* a writer we have not heard of yet */
		return NOT_YET;
	}
	div64_u64_rem(h->sequence - rx->next, sb->ring_blocks, &laps);
	if (!laps && acceptable_epoch(rx, h->epoch, h->sequence))
		return LAPPED;
	return INVALID;
}

static void take_ready(struct vnic_priv *priv, struct vnic_peer *p,
		       const struct vnic_block_header *h, u64 now)
{
	struct vnic_rx *rx = &p->rx;
	const u8 *block = priv->rx_block.data;

	if (h->epoch != rx->epoch) {
		netdev_info(priv->dev, "slot %u epoch %016llx -> %016llx at sequence %llu\n",
			    p->slot, rx->epoch, h->epoch, rx->next);
		rx->epoch = h->epoch;
		vnic_count(priv, VNIC_C_rx_epoch_changes, 1);
		rx->continuous = false;
	}
	if (rx->skipping_old && h->writer_timestamp_ns < rx->skip_written_before_ns) {
		vnic_count(priv, VNIC_C_rx_skipped_on_attach, 1);
		rx->continuous = false;
		advance(rx);
		return;
	}
	rx->skipping_old = false;
	rx->last_data_ns = now;
	rx->poll_interval_ns = (u64)priv->config.poll_min_us * NSEC_PER_USEC;
	if (!vnic_block_for_slot(h, priv->config.slot)) {
		/* Consumed in sequence, none of it ours, nor the tail it may leave in the next block. */
		vnic_count(priv, VNIC_C_rx_blocks_not_ours, 1);
		abandon_partial(priv, rx);
		rx->continuous = false;
		rx->tail_not_ours = true;
		advance(rx);
		return;
	}
	if (!records_well_formed(block, h)) {
		vnic_count(priv, VNIC_C_rx_malformed_blocks, 1);
		rx->continuous = false;
		advance(rx);
		return;
	}
	take_frames(priv, p, block, h);
	vnic_count(priv, VNIC_C_rx_blocks, 1);
	rx->continuous = true;
	advance(rx);
}

/*
 * The deadlines of a run of damaged blocks run together (FORMAT.md): while next
 * is damaged, each later block the writer is known to be past is read once, and
 * one found damaged too is dated from then, so a burst costs about one
 * torn_timeout, not one per block.
 */
static void read_ahead_of_damage(struct vnic_priv *priv, struct vnic_peer *p, u64 now)
{
	struct vnic_rx *rx = &p->rx;
	struct vnic_volume *vol = vnic_recv_volume(priv);
	const struct vnic_superblock *sb = &priv->recv_sb;
	u32 lbs = vol->logical_block_size;
	u32 first = min(sb->block_size, max_t(u32, lbs, VNIC_WRITE_UNIT));
	u64 writer_past = rx->writer_epoch == rx->epoch ? rx->writer_head : rx->past_head;
	struct vnic_block_header h;
	enum vnic_block_check check;
	u64 sequence, offset;

	sequence = max(rx->next + 1, rx->ahead_probed_upto);
	for (; sequence < rx->next + VNIC_RX_AHEAD && sequence < writer_past; sequence++) {
		vnic_count(priv, VNIC_C_rx_reads, 1);
		offset = vnic_block_offset(sb, p->slot, sequence);
		if (vnic_volume_read(vol, &priv->rx_block, 0, offset, first))
			break;
		rx->ahead_probed_upto = sequence + 1;
		check = vnic_decode_block(priv->rx_block.data, first, sb->block_size, &h);
		if (check != VNIC_BLOCK_OK && check != VNIC_BLOCK_EMPTY &&
		    check != VNIC_BLOCK_NEED_MORE) {
			rx->ahead_sequence[sequence % VNIC_RX_AHEAD] = sequence;
			rx->ahead_bad_since_ns[sequence % VNIC_RX_AHEAD] = now;
		}
	}
}

/* One step at rx->next; returns true when it moved on, false to wait. */
static bool step(struct vnic_priv *priv, struct vnic_peer *p, u64 now)
{
	struct vnic_rx *rx = &p->rx;
	struct vnic_block_header h;
	enum slot_state state = read_next(priv, p, &h);
	u64 since, deadline, target;

	if (state == READY) {
		take_ready(priv, p, &h, now);
		return true;
	}
	if (state == LAPPED) {
		target = h.sequence;
		if (rx->writer_epoch == rx->epoch)
			target = max(target, rx->writer_head);
		vnic_count(priv, VNIC_C_rx_lapped_resyncs, 1);
		vnic_count(priv, VNIC_C_rx_blocks_lost_lapped, target - rx->next);
		netdev_warn(priv->dev, "lapped by slot %u's writer: %llu blocks lost\n",
			    p->slot, target - rx->next);
		resync(priv, rx, target, now);
		return true;
	}
	/* A restarted writer began further on: what lies between was never written. */
	if (rx->writer_epoch != rx->epoch && rx->writer_first_sequence > rx->next) {
		vnic_count(priv, VNIC_C_rx_restart_skipped_blocks,
			   rx->writer_first_sequence - rx->next);
		vnic_count(priv, VNIC_C_rx_epoch_changes, 1);
		rx->epoch = rx->writer_epoch;
		resync(priv, rx, rx->writer_first_sequence, now);
		return true;
	}
	if (!rx->unready_since_ns)
		rx->unready_since_ns = now;
	if (state == INVALID && rx->past_since_ns)
		read_ahead_of_damage(priv, p, now);
	/*
	 * Skipped only torn_timeout after the writer was known to be past it and
	 * after the first read that found it not valid, by a read made after that.
	 * A volume whose reads fail is waited for, never skipped.
	 */
	if (state != FAILED && rx->past_since_ns) {
		since = max(rx->past_since_ns, rx->unready_since_ns);
		if (state == NOT_YET) {
			if (!rx->waiting_since_ns)
				rx->waiting_since_ns = now;
			since = max(since, rx->waiting_since_ns);
		}
		deadline = since + (u64)priv->config.torn_timeout_ms * NSEC_PER_MSEC;
		if (now >= deadline && rx->read_at_ns >= deadline) {
			if (state == INVALID) {
				vnic_count(priv, VNIC_C_rx_corrupt_blocks, 1);
				net_warn_ratelimited("%s: slot %u block %llu damaged: skipped\n",
						     priv->dev->name, p->slot, rx->next);
			} else {
				vnic_count(priv, VNIC_C_rx_lost_blocks, 1);
			}
			rx->continuous = false;
			abandon_partial(priv, rx);
			advance(rx);
			return true;
		}
		rx->next_deadline_ns = deadline;
	} else {
		rx->next_deadline_ns = 0;
	}
	vnic_count(priv, state == NOT_YET ? VNIC_C_rx_empty_polls : VNIC_C_rx_torn_rereads, 1);
	return false;
}

static void schedule_after_miss(struct vnic_priv *priv, struct vnic_rx *rx, u64 now)
{	u64 min_ns = (u64)priv->config.poll_min_us * NSEC_PER_USEC;
	u64 max_ns = (u64)priv->config.poll_max_us * NSEC_PER_USEC;

	/* Right after data, poll at the shortest interval; then back off to the idle period. */
	if (now - rx->last_data_ns < SPIN_WINDOW_NS)
		rx->poll_interval_ns = min_ns;
	else
		rx->poll_interval_ns = clamp(rx->poll_interval_ns * 2, min_ns, max_ns);
	rx->next_poll_ns = now + rx->poll_interval_ns;
	if (rx->next_deadline_ns)
		rx->next_poll_ns = min(rx->next_poll_ns, max(now, rx->next_deadline_ns));
}

/*
 * A shared LUN's reader polls a ring only while its writer may be writing to
 * it: alive, or not judged yet. A dead or stopped writer's ring holds nothing
 * new until its record moves again, and on a LUN of 64 slots polling them all
 * would cost 6300 reads a second.
 */
static bool polled(struct vnic_priv *priv, const struct vnic_peer *p)
{
	if (!p->rx.attached)
		return false;
	return !priv->shared || p->state == VNIC_PEER_ALIVE || p->state == VNIC_PEER_UNKNOWN;
}

static void poll_peer(struct vnic_priv *priv, struct vnic_peer *p, u64 now)
{
	struct vnic_rx *rx = &p->rx;
	int blocks;

	if (now < rx->next_poll_ns)
		return;
	for (blocks = 0; blocks < RX_BLOCKS_PER_TURN; blocks++) {
		if (skb_queue_len(&priv->deliver) > RX_BACKLOG_LIMIT) {
			/* The stack is behind: the ring keeps the rest. */
			rx->next_poll_ns = now + (u64)priv->config.poll_min_us * NSEC_PER_USEC;
			break;
		}
		rx->read_at_ns = ktime_get_ns();
		if (!step(priv, p, rx->read_at_ns)) {
			schedule_after_miss(priv, rx, ktime_get_ns());
			break;
		}
		rx->next_poll_ns = now;
	}
}

void vnic_rx_poll(struct vnic_priv *priv, u64 now)
{
	bool reply = READ_ONCE(priv->expect_reply);
	struct vnic_peer *p;

	if (reply)
		WRITE_ONCE(priv->expect_reply, false);
	vnic_for_each_peer(priv, p) {
		if (reply) {
			p->rx.poll_interval_ns = (u64)priv->config.poll_min_us * NSEC_PER_USEC;
			p->rx.next_poll_ns = now;
		}
		if (polled(priv, p))
			poll_peer(priv, p, now);
	}
	if (!skb_queue_empty(&priv->deliver)) {
		local_bh_disable();
		napi_schedule(&priv->napi);
		local_bh_enable();
	}
}

u64 vnic_rx_next_due(struct vnic_priv *priv)
{
	struct vnic_peer *p;
	u64 due = U64_MAX;

	vnic_for_each_peer(priv, p) {
		if (polled(priv, p))
			due = min(due, p->rx.next_poll_ns);
	}
	return due;
}

int vnic_napi_poll(struct napi_struct *napi, int budget)
{
	struct vnic_priv *priv = container_of(napi, struct vnic_priv, napi);
	struct sk_buff *skb;
	int done = 0;

	while (done < budget && (skb = skb_dequeue(&priv->deliver))) {
		vnic_count(priv, VNIC_C_rx_frames, 1);
		vnic_count(priv, VNIC_C_rx_bytes, skb->len + ETH_HLEN);
		napi_gro_receive(napi, skb);
		done++;
	}
	if (done < budget && napi_complete_done(napi, done) && !skb_queue_empty(&priv->deliver))
		napi_schedule(napi);
	return done;
}

/* The peers (one for a pair, one per slot on a shared LUN) and the read buffer. */
int vnic_rx_start(struct vnic_priv *priv)
{
	/* A shared LUN's slot count is known once its superblock is read (vnic_state_start). */
	u32 count = priv->shared ? VNIC_MAX_SLOTS : 1;
	u32 i;
	int ret;

	/* Big enough for any block size a receive volume may be formatted with, and the table. */
	ret = vnic_buf_alloc(&priv->rx_block, VNIC_MAX_BLOCK_SIZE);
	if (ret)
		return ret;
	priv->record_scratch = kzalloc(sizeof(*priv->record_scratch), GFP_KERNEL);
	priv->peers = kvcalloc(count, sizeof(*priv->peers), GFP_KERNEL);
	if (!priv->peers || !priv->record_scratch) {
		vnic_rx_stop(priv);
		return -ENOMEM;
	}
	priv->peer_count = count;
	for (i = 0; i < count; i++) {
		struct vnic_peer *p = &priv->peers[i];

		p->slot = priv->shared ? i : priv->config.peer_slot;
		p->in_use = !priv->shared || i != priv->config.slot;
		p->state = priv->shared ? VNIC_PEER_UNKNOWN : VNIC_PEER_NO_VOLUME;
	}
	return 0;
}

void vnic_rx_stop(struct vnic_priv *priv)
{
	u32 i;

	skb_queue_purge(&priv->deliver);
	for (i = 0; priv->peers && i < priv->peer_count; i++)
		kvfree(priv->peers[i].rx.partial);
	kvfree(priv->peers);
	priv->peers = NULL;
	priv->peer_count = 0;
	kfree(priv->record_scratch);
	priv->record_scratch = NULL;
	vnic_buf_free(&priv->rx_block);
}
