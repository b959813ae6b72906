/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The on-volume format of docs/FORMAT.md (version 1): constants, decoded
 * structures, and the encoders and decoders. Nothing here casts a struct onto
 * a buffer; every field is read and written little-endian at its offset.
 */
#ifndef VNIC_FORMAT_H
#define VNIC_FORMAT_H

#include <linux/types.h>

#define VNIC_FORMAT_VERSION		1
#define VNIC_SUPERBLOCK_BYTES		256
#define VNIC_STATE_TABLE_OFFSET		4096
#define VNIC_STATE_STRIDE		4096
#define VNIC_STATE_V1_BYTES		0x254
#define VNIC_STATE_V2_BYTES		0x2B4
#define VNIC_BLOCK_HEADER_BYTES		64	/* version 1, a pair's */
#define VNIC_BLOCK_HEADER_V2_BYTES	80	/* version 2, a shared LUN's: destinations */
#define VNIC_ALL_DESTINATIONS		(~0ULL)
#define VNIC_RECORD_HEADER_BYTES	8
#define VNIC_MIN_BLOCK_SIZE		4096
#define VNIC_MAX_BLOCK_SIZE		(1024 * 1024)
#define VNIC_MAX_SLOTS			64
#define VNIC_MIN_RING_BLOCKS		8
#define VNIC_MAX_FRAME_BYTES		131072
#define VNIC_LABEL_BYTES		64
#define VNIC_OWNER_BYTES		64
#define VNIC_IFNAME_BYTES		16
#define VNIC_RESTART_SEQUENCE_GAP	64
#define VNIC_WRITE_UNIT			4096
/* What vnicd puts before every Ethernet frame: a little-endian virtio_net_hdr. */
#define VNIC_VNET_HDR_BYTES		10

#define VNIC_RECORD_FIRST		0x1
#define VNIC_RECORD_LAST		0x2
#define VNIC_BLOCK_AUTHENTICATED	0x1
#define VNIC_BLOCK_ENCRYPTED		0x2
#define VNIC_STATE_AUTHENTICATED	0x1

enum vnic_decode_error {
	VNIC_DECODE_OK = 0,
	VNIC_DECODE_ALL_ZERO,
	VNIC_DECODE_BAD_MAGIC,
	VNIC_DECODE_BAD_VERSION,
	VNIC_DECODE_BAD_CHECKSUM,
	VNIC_DECODE_BAD_FIELD,
	VNIC_DECODE_NO_KEY,	/* an authenticated layout: this module has no keys */
};

struct vnic_superblock {
	u8 uuid[16];
	u32 block_size;
	u32 slot_count;
	u64 ring_blocks;
	u64 created_unix_ns;
	char label[VNIC_LABEL_BYTES];
};

enum vnic_writer_status {
	VNIC_STATUS_EMPTY = 0,
	VNIC_STATUS_RUNNING = 1,
	VNIC_STATUS_CLEAN_STOP = 2,
};

struct vnic_state_record {
	u32 version;		/* 1 (a pair) or 2 (a shared LUN's slot) */
	u32 slot;
	u8 uuid[16];
	u64 epoch;
	u32 status;
	u64 heartbeat;
	u64 head_sequence;
	u64 writer_monotonic_ns;
	u64 epoch_first_sequence;
	u64 acks[VNIC_MAX_SLOTS];
	char owner[VNIC_OWNER_BYTES];		/* version 2 only */
	char ifname[VNIC_IFNAME_BYTES];		/* version 2 only */
	u64 started_unix_ns;			/* version 2 only */
};

enum vnic_block_check {
	VNIC_BLOCK_OK = 0,
	VNIC_BLOCK_EMPTY,	/* an all-zero header: never written */
	VNIC_BLOCK_BAD_MAGIC,
	VNIC_BLOCK_BAD_VERSION,
	VNIC_BLOCK_UNKNOWN_FLAGS,
	VNIC_BLOCK_BAD_LENGTH,
	VNIC_BLOCK_NEED_MORE,	/* valid_bytes lies past what was read */
	VNIC_BLOCK_BAD_CHECKSUM,
};

struct vnic_block_header {
	u16 version;		/* 1 or 2; 0 encodes as 1 */
	u16 flags;
	u32 slot;
	u32 record_count;
	u64 epoch;
	u64 sequence;
	u64 writer_timestamp_ns;
	u32 valid_bytes;
	u32 key_id;
	u64 volume_tag;
	u64 destinations;	/* version 2: bit j, a frame for slot j */
};

static inline u32 vnic_block_header_bytes(u16 version)
{
	return version == 2 ? VNIC_BLOCK_HEADER_V2_BYTES : VNIC_BLOCK_HEADER_BYTES;
}

/* Whether a block is for the reader in @slot (version 1 blocks are for everyone). */
static inline bool vnic_block_for_slot(const struct vnic_block_header *h, u32 slot)
{
	return h->version != 2 || slot >= 64 || ((h->destinations >> slot) & 1);
}

u32 vnic_crc32c(u32 crc, const void *data, size_t len);
bool vnic_crc32c_self_test(void);

u64 vnic_rings_offset(u32 block_size, u32 slot_count);
u64 vnic_block_offset(const struct vnic_superblock *sb, u32 slot, u64 sequence);
u64 vnic_state_offset(u32 slot);
u64 vnic_required_bytes(const struct vnic_superblock *sb);
u64 vnic_volume_tag(const struct vnic_superblock *sb);

/* @msg gets a line naming what is wrong (for the log and last_error). */
enum vnic_decode_error vnic_decode_superblock(const u8 *in, struct vnic_superblock *sb,
					      char *msg, size_t msg_len);

/* Encodes into a zeroed VNIC_STATE_STRIDE buffer; returns the bytes used. */
size_t vnic_encode_state_record(const struct vnic_state_record *r, u8 *out);
enum vnic_decode_error vnic_decode_state_record(const u8 *in, struct vnic_state_record *r);

void vnic_encode_block_header(const struct vnic_block_header *h, u8 *block);
/* CRC over the header (less its CRC field) and [64, valid_bytes), so over a version 2 extension too. */
void vnic_finish_block(u8 *block);
/*
 * @have: how many bytes of the block are in @data. VNIC_BLOCK_NEED_MORE for a
 * version 2 block comes only after its header CRC held: its fields, the
 * destinations among them, can be trusted without the rest.
 */
enum vnic_block_check vnic_decode_block(const u8 *data, u32 have, u32 block_size,
					struct vnic_block_header *h);

void vnic_encode_record_header(u8 *out, u32 length, u16 flags);
void vnic_decode_record_header(const u8 *in, u32 *length, u16 *flags);

const char *vnic_block_check_name(enum vnic_block_check check);

#endif
