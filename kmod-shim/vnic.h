/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vnic.ko: a network device whose frames travel in checksummed blocks on
 * block devices, in the on-volume format of docs/FORMAT.md, so that it talks
 * to vnicd (the userspace TAP implementation) on the peer node.
 */
#ifndef VNIC_H
#define VNIC_H

#include <linux/blkdev.h>
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/hrtimer.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/virtio_net.h>
#include <linux/workqueue.h>

#include "vnic_format.h"

#define VNIC_DRV_NAME		"vnic"
#define VNIC_DRV_VERSION	"0.1.0"
#define VNIC_PATH_BYTES		256
#define VNIC_ERROR_BYTES	256
#define VNIC_NODE_NAME_BYTES	65

/* Set through /sys/class/net/<dev>/vnic/ while the device is down. */
struct vnic_config {
	char send_device[VNIC_PATH_BYTES];
	char recv_device[VNIC_PATH_BYTES];
	char volume[VNIC_PATH_BYTES];	/* a shared LUN: excludes send_device and recv_device */
	u32 slot;		/* our slot on the send volume (or the shared LUN) */
	u32 peer_slot;		/* a pair: the peer's slot on the receive volume */
	u32 block_size;		/* 0: whatever the send volume was formatted with */
	u32 heartbeat_interval_ms;
	u32 dead_after_ms;
	u32 torn_timeout_ms;
	u32 lap_after_ms;
	u32 poll_min_us;
	u32 poll_max_us;
};

/* Every counter, in the order `ethtool -S` prints them. */
#define VNIC_COUNTERS(X)			\
	X(tx_frames)				\
	X(tx_bytes)				\
	X(tx_blocks)				\
	X(tx_volume_bytes)			\
	X(tx_write_errors)			\
	X(tx_dropped_too_big)			\
	X(tx_dropped_stopped)			\
	X(tx_ring_full_holds)			\
	X(tx_dropped_slot_lost)			\
	X(rx_frames)				\
	X(rx_bytes)				\
	X(rx_blocks)				\
	X(rx_reads)				\
	X(rx_read_errors)			\
	X(rx_empty_polls)			\
	X(rx_torn_rereads)			\
	X(rx_corrupt_blocks)			\
	X(rx_lost_blocks)			\
	X(rx_malformed_blocks)			\
	X(rx_auth_no_key_blocks)		\
	X(rx_stale_epoch_blocks)		\
	X(rx_lapped_resyncs)			\
	X(rx_blocks_lost_lapped)		\
	X(rx_epoch_changes)			\
	X(rx_restart_skipped_blocks)		\
	X(rx_skipped_on_attach)			\
	X(rx_dropped_partial_frames)		\
	X(rx_bad_frames)			\
	X(rx_blocks_not_ours)			\
	X(state_writes)				\
	X(state_write_errors)			\
	X(state_reads)				\
	X(state_unreadable)			\
	X(peer_transitions)			\
	X(carrier_changes)			\
	X(slot_lost)

enum vnic_counter {
#define VNIC_COUNTER_ENUM(name) VNIC_C_##name,
	VNIC_COUNTERS(VNIC_COUNTER_ENUM)
#undef VNIC_COUNTER_ENUM
	VNIC_COUNTER_COUNT
};

extern const char vnic_counter_names[VNIC_COUNTER_COUNT][ETH_GSTRING_LEN];

enum vnic_peer_state {
	VNIC_PEER_NO_VOLUME,	/* the receive volume is not formatted yet */
	VNIC_PEER_UNKNOWN,	/* its record has not moved since we started looking */
	VNIC_PEER_ALIVE,
	VNIC_PEER_DEAD,		/* its record stopped moving for dead_after */
	VNIC_PEER_STOPPED,	/* it wrote a clean stop */
};

const char *vnic_peer_state_name(enum vnic_peer_state state);

/* A block-sized buffer of pages, mapped contiguously for the CPU. */
struct vnic_buf {
	struct page **pages;
	unsigned int nr_pages;
	u8 *data;
};

/* One opened volume. */
struct vnic_volume {
	struct block_device *bdev;
	fmode_t mode;		/* before 6.5: what the device was opened with */
	struct file *file;	/* 6.9 and later: the open device */
	u32 logical_block_size;
	u64 bytes;
};

/* The frame at the head of the queue, while it is split across blocks. */
struct vnic_tx_frame {
	struct virtio_net_hdr vnet;
	u32 offset;	/* how much of it is in earlier blocks */
};

/* The writer side: our slot's ring and state record on the send volume. */
struct vnic_tx {
	struct vnic_tx_frame frame;
	struct sk_buff_head queue;
	struct work_struct work;
	struct vnic_buf block;
	u32 write_unit;
	u16 block_version;	/* 1 for a pair, 2 (destinations) on a shared LUN */
	u64 next_sequence;	/* the sequence the next block gets */
	u64 durable_head;	/* every sequence below this is on the volume */
	u64 hold_since_ns;	/* ring full for the peer since; 0: not holding */
};

#define VNIC_RX_AHEAD		32	/* FORMAT.md's read-ahead window */

/* The reader side: one peer's ring, one block at a time. */
struct vnic_rx {
	bool attached;
	u64 epoch;		/* the epoch of the blocks we take */
	u64 next;		/* the sequence we wait for */
	u64 writer_epoch;	/* from the peer's latest record */
	u64 writer_first_sequence;
	u64 writer_head;
	u64 skip_written_before_ns;	/* joining: blocks stamped earlier are old traffic */
	bool skipping_old;
	bool continuous;	/* the last block was delivered: a frame may continue */
	u64 past_since_ns;	/* when we learned the writer is past next; 0: not known */
	u64 past_head;		/* the head that told us */
	u64 unready_since_ns;	/* the first read that found next not valid; 0: none */
	u64 waiting_since_ns;	/* next absent while the writer is past it, since */
	/* Damaged blocks found by reading ahead of a damaged next, by sequence % VNIC_RX_AHEAD. */
	u64 ahead_probed_upto;	/* every sequence below this was read ahead once */
	u64 ahead_sequence[VNIC_RX_AHEAD];
	u64 ahead_bad_since_ns[VNIC_RX_AHEAD];
	u64 read_at_ns;
	u64 next_deadline_ns;
	u64 auth_counted_sequence;
	u64 poll_interval_ns;
	u64 last_data_ns;
	u64 next_poll_ns;
	u32 partial_length;
	bool partial_open;
	bool tail_not_ours;	/* the last block was for other slots and ended inside a frame */
	u8 *partial;		/* a frame split across blocks, being put together (at attach) */
};

/*
 * A node we read: a pair's one peer, or every other slot of a shared LUN. What
 * its state record says, how we judge it, and our reader of its ring.
 */
struct vnic_peer {
	u32 slot;
	bool in_use;		/* shared LUN: false for our own slot */
	enum vnic_peer_state state;
	bool have_record;
	struct vnic_state_record last;
	u64 last_change_ns;
	u64 seen_at_ns;		/* when the last record was read */
	u64 acked;		/* its acks[our slot]: what it consumed of our ring */
	u64 acked_moved_ns;
	u64 published_ack;	/* what our record last said we consumed of its ring */
	struct vnic_rx rx;
};

/* Where a MAC address lives on a shared LUN, learnt from the frames we receive. */
#define VNIC_FDB_SIZE		256
struct vnic_fdb_entry {
	u8 mac[ETH_ALEN];
	u8 slot;
	bool used;
	u64 epoch;		/* the writer that taught it: void once that epoch is gone */
	u64 seen_ns;
};

/* Our own state record. */
struct vnic_self {
	u64 epoch;
	u64 first_sequence;
	u64 heartbeat;
	u64 heartbeat_counted_ns;
	u64 next_heartbeat_ns;
	u64 published_head;
	u64 published_ns;
	u64 next_peer_read_ns;
	u64 last_peer_read_ns;
	u64 next_probe_ns;
	struct vnic_buf record;
};

struct vnic_priv {
	struct net_device *dev;
	struct vnic_config config;	/* written under RTNL, only while down */
	char last_error[VNIC_ERROR_BYTES];

	/* Valid while the device is up. */
	bool running;
	bool shared;		/* config.volume: one shared LUN, read and written */
	bool slot_lost;		/* another node's epoch runs in our slot: we write nothing */
	char node_name[VNIC_NODE_NAME_BYTES];	/* our record's owner (shared LUN) */
	u64 started_unix_ns;
	struct vnic_volume send;	/* our ring and record: the send volume or the shared LUN */
	struct vnic_volume recv;	/* a pair's receive volume; unused on a shared LUN */
	struct vnic_superblock send_sb;
	bool recv_formatted;
	struct vnic_superblock recv_sb;
	struct workqueue_struct *wq;
	struct work_struct poll_work;
	struct hrtimer poll_timer;
	struct napi_struct napi;
	spinlock_t lock;	/* tx progress and peer acks between tx and poll work */
	struct vnic_tx tx;
	struct vnic_peer *peers;	/* indexed by slot on a shared LUN; one for a pair */
	u32 peer_count;
	struct vnic_buf rx_block;	/* the poll work's read buffer: blocks, records, the table */
	struct vnic_state_record *record_scratch;
	struct sk_buff_head deliver;	/* built skbs waiting for NAPI */
	bool expect_reply;	/* tx wrote a block: the readers poll from their shortest interval */
	struct vnic_self self;
	spinlock_t fdb_lock;
	struct vnic_fdb_entry fdb[VNIC_FDB_SIZE];

	atomic64_t counters[VNIC_COUNTER_COUNT];
};

/* Every peer we read (a shared LUN's table has our own slot too, not in use). */
#define vnic_for_each_peer(priv, p)						\
	for ((p) = (priv)->peers; (p) < (priv)->peers + (priv)->peer_count; (p)++)	\
		if (!(p)->in_use) {} else

/* Where the peers' rings and records are: the receive volume, or the shared LUN. */
static inline struct vnic_volume *vnic_recv_volume(struct vnic_priv *priv)
{
	return priv->shared ? &priv->send : &priv->recv;
}

static inline void vnic_count(struct vnic_priv *priv, enum vnic_counter c, u64 n)
{
	atomic64_add(n, &priv->counters[c]);
}

static inline u64 vnic_counter(struct vnic_priv *priv, enum vnic_counter c)
{
	return atomic64_read(&priv->counters[c]);
}

/* vnic_io.c */
int vnic_volume_open(struct vnic_volume *v, const char *path, bool write, void *holder);
void vnic_volume_close(struct vnic_volume *v);
int vnic_buf_alloc(struct vnic_buf *buf, size_t bytes);
void vnic_buf_free(struct vnic_buf *buf);
/* Synchronous; a write goes out with FUA. Returns 0 or a negative errno. */
int vnic_volume_read(struct vnic_volume *v, struct vnic_buf *buf, size_t buf_offset,
		     u64 offset, size_t len);
int vnic_volume_write(struct vnic_volume *v, struct vnic_buf *buf, u64 offset, size_t len);

/* vnic_state.c */
int vnic_state_start(struct vnic_priv *priv);
void vnic_state_stop(struct vnic_priv *priv);
void vnic_state_poll(struct vnic_priv *priv, u64 now);
u64 vnic_state_next_due(struct vnic_priv *priv, u64 now);
bool vnic_peer_takes_traffic(const struct vnic_peer *p);
int vnic_write_own_record(struct vnic_priv *priv, u32 status, u64 now);
bool vnic_records_differ(const struct vnic_state_record *a, const struct vnic_state_record *b);
/* "node "b" (vnic0), running since 2026-12-04T18:40:01Z", as vnicd says it. */
void vnic_describe_owner(const struct vnic_state_record *r, char *out, size_t len);

/* vnic_claim.c */
int vnic_claim_slot(struct vnic_priv *priv);

/* vnic_fdb.c */
void vnic_fdb_learn(struct vnic_priv *priv, const u8 *mac, u32 slot, u64 epoch, u64 now);
u64 vnic_fdb_destinations(struct vnic_priv *priv, const u8 *mac, u64 now);
void vnic_fdb_clear(struct vnic_priv *priv);

/* vnic_tx.c */
int vnic_tx_start(struct vnic_priv *priv);
void vnic_tx_stop(struct vnic_priv *priv);
netdev_tx_t vnic_start_xmit(struct sk_buff *skb, struct net_device *dev);
void vnic_tx_work(struct work_struct *work);

/* vnic_rx.c */
int vnic_rx_start(struct vnic_priv *priv);
void vnic_rx_stop(struct vnic_priv *priv);
void vnic_rx_attach(struct vnic_priv *priv, struct vnic_peer *p,
		    const struct vnic_state_record *r, u64 now);
void vnic_rx_note_writer(struct vnic_priv *priv, struct vnic_peer *p,
			 const struct vnic_state_record *r, u64 now);
void vnic_rx_poll(struct vnic_priv *priv, u64 now);
/* The earliest moment a reader wants to poll; U64_MAX: none does. */
u64 vnic_rx_next_due(struct vnic_priv *priv);
u64 vnic_rx_consumed(const struct vnic_peer *p);
int vnic_napi_poll(struct napi_struct *napi, int budget);

/* vnic_main.c */
/* Logs one line naming what is wrong, keeps it in last_error, returns @err. */
__printf(3, 4) int vnic_config_error(struct vnic_priv *priv, int err, const char *fmt, ...);

#endif
