// SPDX-License-Identifier: GPL-2.0
/*
 * Block device I/O: the volumes opened by path, and synchronous bios over
 * page-backed buffers. Every write carries REQ_FUA: on a device without FUA
 * the block layer turns it into a write followed by a cache flush, and on one
 * without a volatile cache it drops it, so a completed write is durable either
 * way, as vnicd's O_DIRECT|O_DSYNC writes are.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/version.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "vnic.h"

/*
 * Opening a block device by path changed shape twice after Debian 12's 6.1: a
 * blk_mode_t and holder ops in 6.5, a struct file in 6.9. The two ends are the
 * kernels Debian ships (6.1 in bookworm, 6.12 in bookworm-backports and trixie),
 * and both are built in CI; the kernels between them are refused at build time
 * rather than guessed at.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
int vnic_volume_open(struct vnic_volume *v, const char *path, bool write, void *holder)
{
	struct block_device *bdev;
	fmode_t mode = FMODE_READ;

	/* Our ring and record are ours alone: nobody else on this host may write them. */
	if (write)
		mode |= FMODE_WRITE | FMODE_EXCL;
	bdev = blkdev_get_by_path(path, mode, write ? holder : NULL);
	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	v->bdev = bdev;
	v->mode = mode;
	v->logical_block_size = bdev_logical_block_size(bdev);
	v->bytes = bdev_nr_bytes(bdev);
	return 0;
}

void vnic_volume_close(struct vnic_volume *v)
{
	if (!v->bdev)
		return;
	blkdev_put(v->bdev, v->mode);
	v->bdev = NULL;
}
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
int vnic_volume_open(struct vnic_volume *v, const char *path, bool write, void *holder)
{
	struct file *file;

	/* Our ring and record are ours alone: a holder makes the open exclusive. */
	file = bdev_file_open_by_path(path, write ? BLK_OPEN_READ | BLK_OPEN_WRITE : BLK_OPEN_READ,
				      write ? holder : NULL, NULL);
	if (IS_ERR(file))
		return PTR_ERR(file);
	v->file = file;
	v->bdev = file_bdev(file);
	v->logical_block_size = bdev_logical_block_size(v->bdev);
	v->bytes = bdev_nr_bytes(v->bdev);
	return 0;
}

void vnic_volume_close(struct vnic_volume *v)
{
	if (!v->bdev)
		return;
	fput(v->file);
	v->file = NULL;
	v->bdev = NULL;
}
#else
#error "vnic.ko opens block devices with the 6.1 API (before 6.5) or the 6.9 one (6.9 and later); this kernel has neither"
#endif

int vnic_buf_alloc(struct vnic_buf *buf, size_t bytes)
{
	unsigned int i;

	buf->nr_pages = DIV_ROUND_UP(bytes, PAGE_SIZE);
	buf->pages = kcalloc(buf->nr_pages, sizeof(*buf->pages), GFP_KERNEL);
	if (!buf->pages)
		return -ENOMEM;
	for (i = 0; i < buf->nr_pages; i++) {
		buf->pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!buf->pages[i])
			goto fail;
	}
	buf->data = vmap(buf->pages, buf->nr_pages, VM_MAP, PAGE_KERNEL);
	if (!buf->data)
		goto fail;
	return 0;
fail:
	vnic_buf_free(buf);
	return -ENOMEM;
}

void vnic_buf_free(struct vnic_buf *buf)
{
	unsigned int i;

	if (buf->data)
		vunmap(buf->data);
	buf->data = NULL;
	if (buf->pages) {
		for (i = 0; i < buf->nr_pages; i++)
			if (buf->pages[i])
				__free_page(buf->pages[i]);
	}
	kfree(buf->pages);
	buf->pages = NULL;
	buf->nr_pages = 0;
}

static int vnic_volume_io(struct vnic_volume *v, struct vnic_buf *buf, size_t buf_offset,
			  u64 offset, size_t len, blk_opf_t opf)
{
	unsigned int first = buf_offset / PAGE_SIZE;
	unsigned int in_page = buf_offset % PAGE_SIZE;
	unsigned int nr = DIV_ROUND_UP(in_page + len, PAGE_SIZE);
	unsigned int i;
	struct bio *bio;
	int ret;

	if (!len || (len | offset | buf_offset) & (v->logical_block_size - 1) ||
	    first + nr > buf->nr_pages || nr > BIO_MAX_VECS || offset + len > v->bytes)
		return -EINVAL;
	bio = bio_alloc(v->bdev, nr, opf, GFP_NOIO);
	bio->bi_iter.bi_sector = offset >> SECTOR_SHIFT;
	for (i = 0; i < nr; i++) {
		unsigned int take = min_t(size_t, PAGE_SIZE - in_page, len);

		if (bio_add_page(bio, buf->pages[first + i], take, in_page) != take) {
			bio_put(bio);
			return -EIO;
		}
		len -= take;
		in_page = 0;
	}
	ret = submit_bio_wait(bio);
	bio_put(bio);
	return ret;
}

int vnic_volume_read(struct vnic_volume *v, struct vnic_buf *buf, size_t buf_offset,
		     u64 offset, size_t len)
{
	return vnic_volume_io(v, buf, buf_offset, offset, len, REQ_OP_READ);
}

int vnic_volume_write(struct vnic_volume *v, struct vnic_buf *buf, u64 offset, size_t len)
{
	return vnic_volume_io(v, buf, 0, offset, len, REQ_OP_WRITE | REQ_SYNC | REQ_FUA);
}
