// SPDX-License-Identifier: GPL-2.0
/*
 * Transmit: frames queue on the device, and one work item packs whatever has
 * gathered into the next block of our ring and writes it (FORMAT.md "Block"
 * and "Records"). While a write runs, the next frames gather behind it, so a
 * burst shares blocks (group commit) and a lone frame goes out at once. On a
 * shared LUN blocks are version 2 and name the slots their frames are for.
 *
 * A record carries what vnicd's TAP carries: a 10-byte little-endian
 * virtio_net_hdr, then the Ethernet frame (FORMAT.md "Frame bytes").
 */
#include <linux/delay.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/ktime.h>
#include <linux/virtio_net.h>

#include "vnic.h"

#define TX_QUEUE_LIMIT		1024
#define TX_RETRY_BACKOFF_MS	10

netdev_tx_t vnic_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct vnic_priv *priv = netdev_priv(dev);

	if (skb->len + VNIC_VNET_HDR_BYTES > VNIC_MAX_FRAME_BYTES) {
		vnic_count(priv, VNIC_C_tx_dropped_too_big, 1);
		dev_kfree_skb_any(skb);
		return NETDEV_TX_OK;
	}
	skb_queue_tail(&priv->tx.queue, skb);
	if (skb_queue_len(&priv->tx.queue) >= TX_QUEUE_LIMIT)
		netif_stop_queue(dev);
	queue_work(priv->wq, &priv->tx.work);
	return NETDEV_TX_OK;
}

/* Bytes [offset, offset + len) of the frame as it goes on the volume: header, then skb. */
static int copy_frame_bytes(const struct sk_buff *skb, const u8 *vnet, u32 offset, u8 *to, u32 len)
{
	if (offset < VNIC_VNET_HDR_BYTES) {
		u32 take = min_t(u32, len, VNIC_VNET_HDR_BYTES - offset);

		memcpy(to, vnet + offset, take);
		to += take;
		len -= take;
		offset += take;
	}
	if (!len)
		return 0;
	return skb_copy_bits(skb, offset - VNIC_VNET_HDR_BYTES, to, len);
}

/*
 * Whether block @sequence may be written: not onto a block a live reader has
 * not consumed yet (the least ack among them, FORMAT.md "Flow control with
 * many readers"), unless that reader's ack has stood still for lap_after
 * while we held (a stalled reader is lapped rather than stalling us forever).
 * An ack of 0 is a node not reading us.
 */
static bool ring_has_room(struct vnic_priv *priv, u64 sequence, u64 now)
{
	struct vnic_tx *tx = &priv->tx;
	u64 ring = priv->send_sb.ring_blocks;
	u64 lap_after = (u64)priv->config.lap_after_ms * NSEC_PER_MSEC;
	bool room = true, blocked = false;
	struct vnic_peer *p;
	u64 still_since;

	spin_lock_bh(&priv->lock);
	vnic_for_each_peer(priv, p) {
		if (!vnic_peer_takes_traffic(p) || !p->acked || sequence <= p->acked + ring)
			continue;
		if (!blocked && !tx->hold_since_ns) {
			tx->hold_since_ns = now;
			vnic_count(priv, VNIC_C_tx_ring_full_holds, 1);
		}
		blocked = true;
		still_since = max(tx->hold_since_ns, p->acked_moved_ns);
		if (!lap_after || now - still_since < lap_after)
			room = false;
	}
	if (!blocked)
		tx->hold_since_ns = 0;
	spin_unlock_bh(&priv->lock);
	return room;
}

/* The slots a frame is for: one learnt slot, or every slot (a pair's blocks carry none). */
static u64 frame_destinations(struct vnic_priv *priv, const struct sk_buff *skb, u64 now)
{
	u8 buf[ETH_ALEN];
	const u8 *dest;

	if (!priv->shared)
		return VNIC_ALL_DESTINATIONS;
	dest = skb_header_pointer(skb, 0, ETH_ALEN, buf);
	return dest ? vnic_fdb_destinations(priv, dest, now) : VNIC_ALL_DESTINATIONS;
}

/*
 * Packs queued frames into the block; returns the bytes used (the header's:
 * nothing). @destinations gets the union of the packed frames' slots.
 */
static u32 pack_block(struct vnic_priv *priv, struct sk_buff_head *done, u32 *records,
		      u64 *destinations)
{
	struct vnic_tx *tx = &priv->tx;
	struct vnic_tx_frame *st = &tx->frame;
	u32 block_size = priv->send_sb.block_size;
	u32 used = vnic_block_header_bytes(tx->block_version);
	u8 *block = tx->block.data;
	u64 now = ktime_get_ns();
	struct sk_buff *skb;

	*records = 0;
	*destinations = 0;
	while ((skb = skb_peek(&tx->queue))) {
		u32 frame_len = skb->len + VNIC_VNET_HDR_BYTES;
		u32 room, take;
		u16 flags = 0;

		if (used + VNIC_RECORD_HEADER_BYTES >= block_size)
			break;
		if (st->offset == 0 &&
		    virtio_net_hdr_from_skb(skb, &st->vnet, true, false, 0)) {
			skb_unlink(skb, &tx->queue);
			vnic_count(priv, VNIC_C_tx_dropped_too_big, 1);
			dev_kfree_skb_any(skb);
			continue;
		}
		/* Every part of a split frame carries the frame's destinations. */
		*destinations |= frame_destinations(priv, skb, now);
		room = block_size - used - VNIC_RECORD_HEADER_BYTES;
		take = min(room, frame_len - st->offset);
		if (st->offset == 0)
			flags |= VNIC_RECORD_FIRST;
		if (st->offset + take == frame_len)
			flags |= VNIC_RECORD_LAST;
		vnic_encode_record_header(block + used, take, flags);
		if (copy_frame_bytes(skb, (const u8 *)&st->vnet, st->offset,
				     block + used + VNIC_RECORD_HEADER_BYTES, take))
			WARN_ON_ONCE(1);
		used += VNIC_RECORD_HEADER_BYTES + take;
		(*records)++;
		st->offset += take;
		if (st->offset < frame_len)
			break;	/* the frame continues in the next block */
		st->offset = 0;
		skb_unlink(skb, &tx->queue);
		__skb_queue_tail(done, skb);
	}
	return used;
}

static void write_block(struct vnic_priv *priv, u64 sequence, u32 used, u32 records,
			u64 destinations)
{
	struct vnic_tx *tx = &priv->tx;
	struct vnic_block_header h = {
		.version = tx->block_version,
		.destinations = destinations,
		.slot = priv->config.slot,
		.record_count = records,
		.epoch = priv->self.epoch,
		.sequence = sequence,
		.valid_bytes = used,
		.volume_tag = vnic_volume_tag(&priv->send_sb),
	};
	u32 write_bytes = min(priv->send_sb.block_size, round_up(used, tx->write_unit));
	int ret;

	/* Padding inside the written unit is zero; past it the slot keeps what it had. */
	memset(tx->block.data + used, 0, write_bytes - used);
	h.writer_timestamp_ns = ktime_get_ns();
	vnic_encode_block_header(&h, tx->block.data);
	vnic_finish_block(tx->block.data);
	for (;;) {
		u64 offset = vnic_block_offset(&priv->send_sb, priv->config.slot, sequence);

		ret = vnic_volume_write(&priv->send, &tx->block, offset, write_bytes);
		if (!ret)
			break;
		/* A hole in the ring would stall the reader at this sequence: write it again. */
		vnic_count(priv, VNIC_C_tx_write_errors, 1);
		net_warn_ratelimited("%s: block %llu write failed (%d), retrying\n",
				     priv->dev->name, sequence, ret);
		if (!READ_ONCE(priv->running))
			return;
		msleep(TX_RETRY_BACKOFF_MS);
	}
	spin_lock_bh(&priv->lock);
	tx->next_sequence = sequence + 1;
	tx->durable_head = sequence + 1;
	spin_unlock_bh(&priv->lock);
	vnic_count(priv, VNIC_C_tx_blocks, 1);
	vnic_count(priv, VNIC_C_tx_volume_bytes, write_bytes);
}

void vnic_tx_work(struct work_struct *work)
{
	struct vnic_priv *priv = container_of(work, struct vnic_priv, tx.work);
	struct vnic_tx *tx = &priv->tx;
	struct sk_buff_head done;
	struct sk_buff *skb;
	u64 sequence, destinations;
	u32 used, records;

	__skb_queue_head_init(&done);
	if (READ_ONCE(priv->slot_lost)) {
		/* Another node writes our slot now: nothing of ours may reach the ring. */
		vnic_count(priv, VNIC_C_tx_dropped_slot_lost, skb_queue_len(&tx->queue));
		skb_queue_purge(&tx->queue);
		tx->frame.offset = 0;
		if (netif_queue_stopped(priv->dev))
			netif_wake_queue(priv->dev);
		return;
	}
	while (READ_ONCE(priv->running) && !skb_queue_empty(&tx->queue)) {
		sequence = tx->next_sequence;
		if (!ring_has_room(priv, sequence, ktime_get_ns()))
			break;	/* the poll work queues us again when a reader's ack moves */
		used = pack_block(priv, &done, &records, &destinations);
		if (!records)
			continue;
		write_block(priv, sequence, used, records, destinations);
		/* As vnicd does: a reply to what we sent is polled for within a fraction of its trip. */
		WRITE_ONCE(priv->expect_reply, true);
		queue_work(priv->wq, &priv->poll_work);
		while ((skb = __skb_dequeue(&done))) {
			vnic_count(priv, VNIC_C_tx_frames, 1);
			vnic_count(priv, VNIC_C_tx_bytes, skb->len);
			consume_skb(skb);
		}
		if (netif_queue_stopped(priv->dev) &&
		    skb_queue_len(&tx->queue) < TX_QUEUE_LIMIT / 2)
			netif_wake_queue(priv->dev);
	}
	__skb_queue_purge(&done);
}

int vnic_tx_start(struct vnic_priv *priv)
{
	struct vnic_tx *tx = &priv->tx;

	tx->hold_since_ns = 0;
	tx->frame.offset = 0;
	/* A pair writes version 1, so a peer of an earlier release keeps reading it. */
	tx->block_version = priv->shared ? 2 : 1;
	/* O_DIRECT-style writes are whole logical blocks: 4 KiB or the device's, if larger. */
	tx->write_unit = min(priv->send_sb.block_size,
			     max_t(u32, VNIC_WRITE_UNIT, priv->send.logical_block_size));
	return vnic_buf_alloc(&tx->block, priv->send_sb.block_size);
}

void vnic_tx_stop(struct vnic_priv *priv)
{
	vnic_count(priv, VNIC_C_tx_dropped_stopped, skb_queue_len(&priv->tx.queue));
	skb_queue_purge(&priv->tx.queue);
	vnic_buf_free(&priv->tx.block);
}
