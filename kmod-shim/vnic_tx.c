// SPDX-License-Identifier: GPL-2.0
/*
 * Transmit: frames queue on the device, and one work item packs whatever has
 * gathered into the next block of our ring and writes it (FORMAT.md "Block"
 * and "Records"). While a write runs, the next frames gather behind it, so a
 * burst shares blocks (group commit) and a lone frame goes out at once.
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
 * Whether block @sequence may be written: not onto a block the live peer has
 * not consumed yet, unless its ack has stood still for lap_after while we
 * held (a stalled reader is lapped rather than stalling us forever).
 */
static bool ring_has_room(struct vnic_priv *priv, u64 sequence, u64 now)
{
	struct vnic_tx *tx = &priv->tx;
	u64 ring = priv->send_sb.ring_blocks;
	u64 lap_after = (u64)priv->config.lap_after_ms * NSEC_PER_MSEC;
	u64 still_since;
	bool room;

	spin_lock_bh(&priv->lock);
	room = !vnic_peer_takes_traffic(priv) || !priv->peer.acked ||
	       sequence <= priv->peer.acked + ring;
	if (room) {
		tx->hold_since_ns = 0;
	} else {
		if (!tx->hold_since_ns) {
			tx->hold_since_ns = now;
			vnic_count(priv, VNIC_C_tx_ring_full_holds, 1);
		}
		still_since = max(tx->hold_since_ns, priv->peer.acked_moved_ns);
		if (lap_after && now - still_since >= lap_after)
			room = true;
	}
	spin_unlock_bh(&priv->lock);
	return room;
}

/* Packs queued frames into the block; returns the bytes used (64: nothing). */
static u32 pack_block(struct vnic_priv *priv, struct sk_buff_head *done, u32 *records)
{
	struct vnic_tx *tx = &priv->tx;
	struct vnic_tx_frame *st = &tx->frame;
	u32 block_size = priv->send_sb.block_size;
	u32 used = VNIC_BLOCK_HEADER_BYTES;
	u8 *block = tx->block.data;
	struct sk_buff *skb;

	*records = 0;
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

static void write_block(struct vnic_priv *priv, u64 sequence, u32 used, u32 records)
{
	struct vnic_tx *tx = &priv->tx;
	struct vnic_block_header h = {
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
	u32 used, records;
	u64 sequence;

	__skb_queue_head_init(&done);
	while (READ_ONCE(priv->running) && !skb_queue_empty(&tx->queue)) {
		sequence = tx->next_sequence;
		if (!ring_has_room(priv, sequence, ktime_get_ns()))
			break;	/* the poll work queues us again when the peer's ack moves */
		used = pack_block(priv, &done, &records);
		if (!records)
			continue;
		write_block(priv, sequence, used, records);
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
