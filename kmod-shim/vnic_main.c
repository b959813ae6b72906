// SPDX-License-Identifier: GPL-2.0
/*
 * Netdev glue: the "vnic" link type, its configuration under
 * /sys/class/net/<dev>/vnic/, open and stop, the poll work and its timer,
 * statistics and ethtool.
 */
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/hrtimer.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/utsname.h>
#include <linux/ktime.h>
#include <net/rtnetlink.h>

#include "vnic.h"

const char vnic_counter_names[VNIC_COUNTER_COUNT][ETH_GSTRING_LEN] = {
#define VNIC_COUNTER_NAME(name) #name,
	VNIC_COUNTERS(VNIC_COUNTER_NAME)
#undef VNIC_COUNTER_NAME
};

int vnic_config_error(struct vnic_priv *priv, int err, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	vsnprintf(priv->last_error, sizeof(priv->last_error), fmt, args);
	va_end(args);
	netdev_err(priv->dev, "%s\n", priv->last_error);
	return err;
}

static void arm_poll(struct vnic_priv *priv, u64 now)
{
	u64 due = min(vnic_state_next_due(priv, now), vnic_rx_next_due(priv));

	if (due <= now)
		queue_work(priv->wq, &priv->poll_work);
	else
		hrtimer_start(&priv->poll_timer, ns_to_ktime(due), HRTIMER_MODE_ABS);
}

static void vnic_poll_work(struct work_struct *work)
{
	struct vnic_priv *priv = container_of(work, struct vnic_priv, poll_work);

	if (!READ_ONCE(priv->running))
		return;
	vnic_state_poll(priv, ktime_get_ns());
	vnic_rx_poll(priv, ktime_get_ns());
	if (READ_ONCE(priv->running))
		arm_poll(priv, ktime_get_ns());
}

static enum hrtimer_restart vnic_poll_timer(struct hrtimer *timer)
{
	struct vnic_priv *priv = container_of(timer, struct vnic_priv, poll_timer);

	queue_work(priv->wq, &priv->poll_work);
	return HRTIMER_NORESTART;
}

static void release_resources(struct vnic_priv *priv)
{
	if (priv->wq) {
		destroy_workqueue(priv->wq);
		priv->wq = NULL;
	}
	vnic_tx_stop(priv);
	vnic_rx_stop(priv);
	vnic_buf_free(&priv->self.record);
	vnic_volume_close(&priv->send);
	vnic_volume_close(&priv->recv);
	vnic_fdb_clear(priv);
	priv->recv_formatted = false;
}

/* A shared LUN: one volume, read and written, our slot claimed on it. */
static int open_shared(struct vnic_priv *priv)
{
	struct vnic_config *c = &priv->config;
	int ret;

	if (c->send_device[0] || c->recv_device[0])
		return vnic_config_error(priv, -EINVAL,
					 "volume %s excludes send_device and recv_device (a shared LUN is both): clear them or volume",
					 c->volume);
	ret = vnic_volume_open(&priv->send, c->volume, true, priv);
	if (ret)
		return vnic_config_error(priv, ret, "volume %s: cannot open it for writing (error %d)",
					 c->volume, ret);
	return 0;
}

/* A mirrored pair: our send volume, and the mirror of the peer's. */
static int open_pair(struct vnic_priv *priv)
{
	struct vnic_config *c = &priv->config;
	struct net_device *dev = priv->dev;
	int ret;

	if (!c->send_device[0])
		return vnic_config_error(priv, -EINVAL,
					 "send_device is not set (write a block device path to /sys/class/net/%s/vnic/send_device, or a shared LUN's to volume)",
					 dev->name);
	if (!c->recv_device[0])
		return vnic_config_error(priv, -EINVAL,
					 "recv_device is not set (write a block device path to /sys/class/net/%s/vnic/recv_device)",
					 dev->name);
	ret = vnic_volume_open(&priv->send, c->send_device, true, priv);
	if (ret)
		return vnic_config_error(priv, ret,
					 "send_device %s: cannot open it for writing (error %d)",
					 c->send_device, ret);
	ret = vnic_volume_open(&priv->recv, c->recv_device, false, NULL);
	if (ret)
		return vnic_config_error(priv, ret, "recv_device %s: cannot open it (error %d)",
					 c->recv_device, ret);
	if (priv->recv.bdev == priv->send.bdev)
		return vnic_config_error(priv, -EINVAL,
					 "recv_device %s is the send_device: a pair needs the peer's volume (a shared LUN is given as volume)",
					 c->recv_device);
	return 0;
}

static int vnic_open(struct net_device *dev)
{
	struct vnic_priv *priv = netdev_priv(dev);
	struct vnic_config *c = &priv->config;
	int ret;

	priv->last_error[0] = '\0';
	if (c->dead_after_ms < 3 * c->heartbeat_interval_ms)
		return vnic_config_error(priv, -EINVAL,
					 "dead_after_ms %u is less than 3 heartbeat intervals (heartbeat_interval_ms %u)",
					 c->dead_after_ms, c->heartbeat_interval_ms);
	if (c->poll_min_us > c->poll_max_us)
		return vnic_config_error(priv, -EINVAL, "poll_min_us %u is more than poll_max_us %u",
					 c->poll_min_us, c->poll_max_us);

	priv->shared = c->volume[0] != '\0';
	priv->slot_lost = false;
	strscpy(priv->node_name, utsname()->nodename, sizeof(priv->node_name));
	ret = priv->shared ? open_shared(priv) : open_pair(priv);
	if (ret)
		goto fail;
	ret = vnic_buf_alloc(&priv->self.record, VNIC_STATE_STRIDE);
	if (ret)
		goto fail;
	ret = vnic_rx_start(priv);
	if (ret)
		goto fail;
	ret = vnic_state_start(priv);
	if (ret)
		goto fail;
	ret = vnic_tx_start(priv);
	if (ret)
		goto fail;
	priv->wq = alloc_workqueue("vnic-%s", WQ_HIGHPRI | WQ_MEM_RECLAIM, 0, dev->name);
	if (!priv->wq) {
		ret = -ENOMEM;
		goto fail;
	}
	netif_carrier_off(dev);
	WRITE_ONCE(priv->running, true);
	napi_enable(&priv->napi);
	netif_start_queue(dev);
	if (priv->shared)
		netdev_info(dev, "up: volume %s slot %u of %u (epoch %016llx, first sequence %llu)\n",
			    c->volume, c->slot, priv->send_sb.slot_count, priv->self.epoch,
			    priv->self.first_sequence);
	else
		netdev_info(dev, "up: send %s (epoch %016llx, first sequence %llu), recv %s (%s)\n",
			    c->send_device, priv->self.epoch, priv->self.first_sequence,
			    c->recv_device, priv->recv_formatted ? "formatted" : "not formatted yet");
	queue_work(priv->wq, &priv->poll_work);
	return 0;
fail:
	release_resources(priv);
	return ret;
}

static int vnic_stop(struct net_device *dev)
{
	struct vnic_priv *priv = netdev_priv(dev);

	netif_tx_disable(dev);
	WRITE_ONCE(priv->running, false);
	cancel_work_sync(&priv->poll_work);
	hrtimer_cancel(&priv->poll_timer);
	cancel_work_sync(&priv->poll_work);
	cancel_work_sync(&priv->tx.work);
	napi_disable(&priv->napi);
	vnic_state_stop(priv);
	netif_carrier_off(dev);
	release_resources(priv);
	netdev_info(dev, "stopped cleanly\n");
	return 0;
}

static void vnic_get_stats64(struct net_device *dev, struct rtnl_link_stats64 *s)
{
	struct vnic_priv *priv = netdev_priv(dev);

	s->rx_packets = vnic_counter(priv, VNIC_C_rx_frames);
	s->rx_bytes = vnic_counter(priv, VNIC_C_rx_bytes);
	s->tx_packets = vnic_counter(priv, VNIC_C_tx_frames);
	s->tx_bytes = vnic_counter(priv, VNIC_C_tx_bytes);
	s->rx_crc_errors = vnic_counter(priv, VNIC_C_rx_corrupt_blocks);
	s->rx_frame_errors = vnic_counter(priv, VNIC_C_rx_malformed_blocks);
	s->rx_length_errors = vnic_counter(priv, VNIC_C_rx_bad_frames);
	s->rx_missed_errors = vnic_counter(priv, VNIC_C_rx_lost_blocks) +
			      vnic_counter(priv, VNIC_C_rx_blocks_lost_lapped);
	s->rx_errors = s->rx_crc_errors + s->rx_frame_errors + s->rx_length_errors +
		       s->rx_missed_errors;
	s->rx_dropped = dev->stats.rx_dropped +
			vnic_counter(priv, VNIC_C_rx_dropped_partial_frames);
	s->tx_errors = vnic_counter(priv, VNIC_C_tx_write_errors);
	s->tx_dropped = vnic_counter(priv, VNIC_C_tx_dropped_too_big) +
			vnic_counter(priv, VNIC_C_tx_dropped_stopped) +
			vnic_counter(priv, VNIC_C_tx_dropped_slot_lost);
}

static int vnic_dev_init(struct net_device *dev)
{
	struct vnic_priv *priv = netdev_priv(dev);

	netif_napi_add(dev, &priv->napi, vnic_napi_poll);
	return 0;
}

static void vnic_dev_uninit(struct net_device *dev)
{
	struct vnic_priv *priv = netdev_priv(dev);

	netif_napi_del(&priv->napi);
}

static const struct net_device_ops vnic_netdev_ops = {
	.ndo_init = vnic_dev_init,
	.ndo_uninit = vnic_dev_uninit,
	.ndo_open = vnic_open,
	.ndo_stop = vnic_stop,
	.ndo_start_xmit = vnic_start_xmit,
	.ndo_get_stats64 = vnic_get_stats64,
	.ndo_set_mac_address = eth_mac_addr,
	.ndo_validate_addr = eth_validate_addr,
};

static void vnic_get_drvinfo(struct net_device *dev, struct ethtool_drvinfo *info)
{
	strscpy(info->driver, VNIC_DRV_NAME, sizeof(info->driver));
	strscpy(info->version, VNIC_DRV_VERSION, sizeof(info->version));
	strscpy(info->bus_info, "block", sizeof(info->bus_info));
}

static int vnic_get_sset_count(struct net_device *dev, int sset)
{
	return sset == ETH_SS_STATS ? VNIC_COUNTER_COUNT : -EOPNOTSUPP;
}

static void vnic_get_strings(struct net_device *dev, u32 sset, u8 *data)
{
	if (sset == ETH_SS_STATS)
		memcpy(data, vnic_counter_names, sizeof(vnic_counter_names));
}

static void vnic_get_ethtool_stats(struct net_device *dev, struct ethtool_stats *stats, u64 *data)
{
	struct vnic_priv *priv = netdev_priv(dev);
	int i;

	for (i = 0; i < VNIC_COUNTER_COUNT; i++)
		data[i] = vnic_counter(priv, i);
}

static const struct ethtool_ops vnic_ethtool_ops = {
	.get_drvinfo = vnic_get_drvinfo,
	.get_link = ethtool_op_get_link,
	.get_sset_count = vnic_get_sset_count,
	.get_strings = vnic_get_strings,
	.get_ethtool_stats = vnic_get_ethtool_stats,
};

/* Configuration: /sys/class/net/<dev>/vnic/, written while the device is down. */

static struct vnic_priv *to_priv(struct device *d)
{
	return netdev_priv(to_net_dev(d));
}

static int begin_config_write(struct device *d)
{
	if (!rtnl_trylock())
		return restart_syscall();
	if (netif_running(to_net_dev(d))) {
		rtnl_unlock();
		netdev_err(to_net_dev(d), "configuration can change only while the device is down\n");
		return -EBUSY;
	}
	return 0;
}

static ssize_t store_path(struct device *d, const char *name, char *field,
			  const char *buf, size_t len)
{
	size_t n = strcspn(buf, "\n");
	int ret;

	if (n >= VNIC_PATH_BYTES || (n && buf[0] != '/')) {
		netdev_err(to_net_dev(d), "%s: not an absolute path of at most %d bytes\n",
			   name, VNIC_PATH_BYTES - 1);
		return -EINVAL;
	}
	ret = begin_config_write(d);
	if (ret)
		return ret;
	memset(field, 0, VNIC_PATH_BYTES);
	memcpy(field, buf, n);
	rtnl_unlock();
	return len;
}

static ssize_t store_u32(struct device *d, const char *name, u32 *field, u32 min, u32 max,
			 bool power_of_two_or_zero, const char *buf, size_t len)
{
	u32 value;
	int ret;

	if (kstrtou32(buf, 0, &value) ||
	    (power_of_two_or_zero ? value && (!is_power_of_2(value) || value < min || value > max)
				  : value < min || value > max)) {
		netdev_err(to_net_dev(d), "%s: '%.*s' is not %s %u to %u\n", name,
			   (int)strcspn(buf, "\n"), buf,
			   power_of_two_or_zero ? "0 or a power of two from" : "a number from",
			   min, max);
		return -EINVAL;
	}
	ret = begin_config_write(d);
	if (ret)
		return ret;
	*field = value;
	rtnl_unlock();
	return len;
}

#define VNIC_PATH_ATTR(name)							\
static ssize_t name##_show(struct device *d, struct device_attribute *a, char *buf) \
{										\
	return sysfs_emit(buf, "%s\n", to_priv(d)->config.name);		\
}										\
static ssize_t name##_store(struct device *d, struct device_attribute *a,	\
			    const char *buf, size_t len)			\
{										\
	return store_path(d, #name, to_priv(d)->config.name, buf, len);	\
}										\
static DEVICE_ATTR_RW(name)

#define VNIC_U32_ATTR(name, min, max, pow2)					\
static ssize_t name##_show(struct device *d, struct device_attribute *a, char *buf) \
{										\
	return sysfs_emit(buf, "%u\n", to_priv(d)->config.name);		\
}										\
static ssize_t name##_store(struct device *d, struct device_attribute *a,	\
			    const char *buf, size_t len)			\
{										\
	return store_u32(d, #name, &to_priv(d)->config.name, min, max, pow2, buf, len); \
}										\
static DEVICE_ATTR_RW(name)

VNIC_PATH_ATTR(send_device);
VNIC_PATH_ATTR(recv_device);
VNIC_PATH_ATTR(volume);
VNIC_U32_ATTR(slot, 0, VNIC_MAX_SLOTS - 1, false);
VNIC_U32_ATTR(peer_slot, 0, VNIC_MAX_SLOTS - 1, false);
VNIC_U32_ATTR(block_size, VNIC_MIN_BLOCK_SIZE, VNIC_MAX_BLOCK_SIZE, true);
VNIC_U32_ATTR(heartbeat_interval_ms, 10, 60000, false);
VNIC_U32_ATTR(dead_after_ms, 30, 600000, false);
VNIC_U32_ATTR(torn_timeout_ms, 10, 60000, false);
VNIC_U32_ATTR(lap_after_ms, 0, 600000, false);
VNIC_U32_ATTR(poll_min_us, 10, 1000000, false);
VNIC_U32_ATTR(poll_max_us, 10, 1000000, false);

/*
 * A pair: the peer's state. A shared LUN: the segment's, the best of its
 * peers' (alive while anyone is; `peers` lists each).
 */
static ssize_t peer_state_show(struct device *d, struct device_attribute *a, char *buf)
{
	static const enum vnic_peer_state best_first[] = {
		VNIC_PEER_ALIVE, VNIC_PEER_UNKNOWN, VNIC_PEER_DEAD, VNIC_PEER_STOPPED,
		VNIC_PEER_NO_VOLUME,
	};
	struct vnic_priv *priv = to_priv(d);
	struct vnic_peer *p;
	size_t i;
	ssize_t ret = -ENODEV;

	if (!rtnl_trylock())
		return restart_syscall();
	if (!netif_running(to_net_dev(d))) {
		ret = sysfs_emit(buf, "down\n");
		goto out;
	}
	for (i = 0; i < ARRAY_SIZE(best_first) && ret < 0; i++) {
		vnic_for_each_peer(priv, p) {
			if (READ_ONCE(p->state) == best_first[i]) {
				ret = sysfs_emit(buf, "%s\n", vnic_peer_state_name(best_first[i]));
				break;
			}
		}
	}
out:
	rtnl_unlock();
	return ret;
}
static DEVICE_ATTR_RO(peer_state);

/*
 * Each peer: its slot, state, where we read its ring, and who its record names.
 * RTNL keeps the peers from being freed (ndo_stop); the lock, a record from
 * being copied over while we copy it.
 */
static ssize_t peers_show(struct device *d, struct device_attribute *a, char *buf)
{
	struct vnic_priv *priv = to_priv(d);
	struct vnic_state_record *last;
	struct vnic_peer *p;
	bool have_record;
	char who[160];
	int n = 0;

	last = kmalloc(sizeof(*last), GFP_KERNEL);
	if (!last)
		return -ENOMEM;
	if (!rtnl_trylock()) {
		kfree(last);
		return restart_syscall();
	}
	if (!netif_running(to_net_dev(d))) {
		n = sysfs_emit(buf, "down\n");
		goto out;
	}
	vnic_for_each_peer(priv, p) {
		spin_lock_bh(&priv->lock);
		have_record = p->have_record;
		if (have_record)
			*last = p->last;
		spin_unlock_bh(&priv->lock);
		if (!have_record) {
			n += sysfs_emit_at(buf, n, "slot %u %s\n", p->slot,
					   vnic_peer_state_name(READ_ONCE(p->state)));
			continue;
		}
		vnic_describe_owner(last, who, sizeof(who));
		n += sysfs_emit_at(buf, n, "slot %u %s rx_next %llu epoch %016llx %s\n", p->slot,
				   vnic_peer_state_name(READ_ONCE(p->state)),
				   READ_ONCE(p->rx.next), READ_ONCE(p->rx.epoch), who);
	}
out:
	rtnl_unlock();
	kfree(last);
	return n;
}
static DEVICE_ATTR_RO(peers);

static ssize_t last_error_show(struct device *d, struct device_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%s\n", to_priv(d)->last_error);
}
static DEVICE_ATTR_RO(last_error);

/* Our epoch, the next sequence we write, and the next we read: for tests and people. */
static ssize_t position_show(struct device *d, struct device_attribute *a, char *buf)
{
	struct vnic_priv *priv = to_priv(d);

	ssize_t ret;

	if (!rtnl_trylock())
		return restart_syscall();
	if (!netif_running(to_net_dev(d)))
		ret = sysfs_emit(buf, "down\n");
	else if (priv->shared)
		ret = sysfs_emit(buf, "epoch %016llx tx_next %llu slot %u%s\n", priv->self.epoch,
				 READ_ONCE(priv->tx.next_sequence), priv->config.slot,
				 READ_ONCE(priv->slot_lost) ? " lost" : "");
	else
		ret = sysfs_emit(buf, "epoch %016llx tx_next %llu rx_next %llu rx_epoch %016llx\n",
				 priv->self.epoch, READ_ONCE(priv->tx.next_sequence),
				 READ_ONCE(priv->peers[0].rx.next),
				 READ_ONCE(priv->peers[0].rx.epoch));
	rtnl_unlock();
	return ret;
}
static DEVICE_ATTR_RO(position);

static struct attribute *vnic_attrs[] = {
	&dev_attr_send_device.attr,
	&dev_attr_recv_device.attr,
	&dev_attr_volume.attr,
	&dev_attr_slot.attr,
	&dev_attr_peer_slot.attr,
	&dev_attr_block_size.attr,
	&dev_attr_heartbeat_interval_ms.attr,
	&dev_attr_dead_after_ms.attr,
	&dev_attr_torn_timeout_ms.attr,
	&dev_attr_lap_after_ms.attr,
	&dev_attr_poll_min_us.attr,
	&dev_attr_poll_max_us.attr,
	&dev_attr_peer_state.attr,
	&dev_attr_peers.attr,
	&dev_attr_last_error.attr,
	&dev_attr_position.attr,
	NULL,
};

static const struct attribute_group vnic_attr_group = {
	.name = "vnic",
	.attrs = vnic_attrs,
};

static void vnic_setup(struct net_device *dev)
{
	struct vnic_priv *priv = netdev_priv(dev);
	struct vnic_config *c = &priv->config;

	ether_setup(dev);
	dev->netdev_ops = &vnic_netdev_ops;
	dev->ethtool_ops = &vnic_ethtool_ops;
	dev->needs_free_netdev = true;
	dev->sysfs_groups[0] = &vnic_attr_group;
	dev->min_mtu = ETH_MIN_MTU;
	dev->max_mtu = ETH_MAX_MTU;
	/* skb_copy_bits takes fragments: the stack need not linearize for us. */
	dev->features |= NETIF_F_SG | NETIF_F_FRAGLIST | NETIF_F_HIGHDMA;
	dev->hw_features |= dev->features;
	eth_hw_addr_random(dev);

	priv->dev = dev;
	spin_lock_init(&priv->lock);
	skb_queue_head_init(&priv->tx.queue);
	skb_queue_head_init(&priv->deliver);
	spin_lock_init(&priv->fdb_lock);
	INIT_WORK(&priv->tx.work, vnic_tx_work);
	INIT_WORK(&priv->poll_work, vnic_poll_work);
	hrtimer_init(&priv->poll_timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	priv->poll_timer.function = vnic_poll_timer;

	/* vnicd's defaults (docs/CONFIG.md). */
	c->heartbeat_interval_ms = 100;
	c->dead_after_ms = 1000;
	c->torn_timeout_ms = 100;
	c->lap_after_ms = 500;
	c->poll_min_us = 50;
	c->poll_max_us = 10000;
}

static struct rtnl_link_ops vnic_link_ops __read_mostly = {
	.kind = VNIC_DRV_NAME,
	.priv_size = sizeof(struct vnic_priv),
	.setup = vnic_setup,
};

static int __init vnic_init(void)
{
	if (!vnic_crc32c_self_test()) {
		pr_err("vnic: crc32c does not give FORMAT.md's check value; refusing to load\n");
		return -EINVAL;
	}
	return rtnl_link_register(&vnic_link_ops);
}

static void __exit vnic_exit(void)
{
	/* Deletes every vnic device; each one that is up writes its clean stop. */
	rtnl_link_unregister(&vnic_link_ops);
}

module_init(vnic_init);
module_exit(vnic_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("vnic: a network device over shared block storage (docs/FORMAT.md)");
MODULE_VERSION(VNIC_DRV_VERSION);
MODULE_ALIAS_RTNL_LINK(VNIC_DRV_NAME);
