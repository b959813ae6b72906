// SPDX-License-Identifier: GPL-2.0
/*
 * docs/FORMAT.md, byte by byte: the only place in the module that knows an
 * offset. Shares no code with blockxport/format.cpp; the document is the
 * contract between them.
 */
#include <linux/crc32c.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/overflow.h>
#include <linux/string.h>
#include <linux/version.h>
/* 6.12 moved the unaligned accessors from asm/ to linux/. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

#include "vnic_format.h"

/* Superblock (FORMAT.md "Superblock") */
#define SB_MAGIC		0x000
#define SB_VERSION		0x008
#define SB_ENCODED_BYTES	0x00C
#define SB_UUID			0x010
#define SB_BLOCK_SIZE		0x020
#define SB_SLOT_COUNT		0x024
#define SB_RING_BLOCKS		0x028
#define SB_STATE_TABLE		0x030
#define SB_STATE_STRIDE		0x038
#define SB_RINGS_OFFSET		0x040
#define SB_CREATED		0x048
#define SB_LABEL		0x050
#define SB_CRC			0x0FC

/* State record (FORMAT.md "State record", versions 1 and 2) */
#define ST_MAGIC		0x000
#define ST_VERSION		0x008
#define ST_SLOT			0x00C
#define ST_UUID			0x010
#define ST_EPOCH		0x020
#define ST_STATUS		0x028
#define ST_FLAGS		0x02C
#define ST_HEARTBEAT		0x030
#define ST_HEAD			0x038
#define ST_MONOTONIC		0x040
#define ST_FIRST_SEQUENCE	0x048
#define ST_ACKS			0x050
#define ST_V1_CRC		0x250
#define ST_V2_OWNER		0x250
#define ST_V2_IFNAME		0x290
#define ST_V2_STARTED		0x2A0
#define ST_V2_CRC		0x2B0

/* Block header (FORMAT.md "Block") */
#define BH_MAGIC		0x00
#define BH_VERSION		0x04
#define BH_FLAGS		0x06
#define BH_SLOT			0x08
#define BH_RECORD_COUNT		0x0C
#define BH_EPOCH		0x10
#define BH_SEQUENCE		0x18
#define BH_TIMESTAMP		0x20
#define BH_VALID_BYTES		0x28
#define BH_KEY_ID		0x2C
#define BH_VOLUME_TAG		0x30
#define BH_RESERVED		0x38
#define BH_CRC			0x3C
/* Version 2's extension (FORMAT.md "Block", version 2) */
#define BH_V2_DESTINATIONS	0x40
#define BH_V2_RESERVED		0x48
#define BH_V2_HEADER_CRC	0x4C

#define BLOCK_MAGIC		0x4B424E56	/* "VNBK" as bytes on disk */

static const char superblock_magic[8] = "VNICSUPR";
static const char state_magic[8] = "VNICSTAT";

static_assert(SB_CRC + 4 == VNIC_SUPERBLOCK_BYTES);
static_assert(ST_ACKS + 8 * VNIC_MAX_SLOTS == ST_V1_CRC);
static_assert(ST_V1_CRC + 4 == VNIC_STATE_V1_BYTES);
static_assert(ST_V2_CRC + 4 == VNIC_STATE_V2_BYTES);
static_assert(BH_CRC + 4 == VNIC_BLOCK_HEADER_BYTES);
static_assert(BH_V2_HEADER_CRC + 4 == VNIC_BLOCK_HEADER_V2_BYTES);

/*
 * The kernel's crc32c() is the raw update (no initial or final inversion);
 * FORMAT.md's CRC32C inverts both, as zlib-style chaining does.
 */
u32 vnic_crc32c(u32 crc, const void *data, size_t len)
{
	return ~crc32c(~crc, data, len);
}

bool vnic_crc32c_self_test(void)
{
	return vnic_crc32c(0, "123456789", 9) == 0xE3069283;
}

static bool all_zero(const u8 *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

u64 vnic_rings_offset(u32 block_size, u32 slot_count)
{
	u64 end_of_state = VNIC_STATE_TABLE_OFFSET + (u64)slot_count * VNIC_STATE_STRIDE;

	return round_up(end_of_state, (u64)block_size);
}

u64 vnic_block_offset(const struct vnic_superblock *sb, u32 slot, u64 sequence)
{
	u64 ring = vnic_rings_offset(sb->block_size, sb->slot_count) +
		   (u64)slot * sb->ring_blocks * sb->block_size;
	u64 position;

	div64_u64_rem(sequence, sb->ring_blocks, &position);
	return ring + position * sb->block_size;
}

u64 vnic_state_offset(u32 slot)
{
	return VNIC_STATE_TABLE_OFFSET + (u64)slot * VNIC_STATE_STRIDE;
}

u64 vnic_required_bytes(const struct vnic_superblock *sb)
{
	return vnic_rings_offset(sb->block_size, sb->slot_count) +
	       (u64)sb->slot_count * sb->ring_blocks * sb->block_size;
}

u64 vnic_volume_tag(const struct vnic_superblock *sb)
{
	return get_unaligned_le64(sb->uuid);
}

enum vnic_decode_error vnic_decode_superblock(const u8 *in, struct vnic_superblock *sb,
					      char *msg, size_t msg_len)
{
	u32 version, stored_crc, actual_crc;
	u64 ring_bytes, all_rings, end;

	if (all_zero(in, VNIC_SUPERBLOCK_BYTES)) {
		snprintf(msg, msg_len, "not formatted (all zeros)");
		return VNIC_DECODE_ALL_ZERO;
	}
	if (memcmp(in + SB_MAGIC, superblock_magic, sizeof(superblock_magic))) {
		snprintf(msg, msg_len, "not a vnic volume (bad superblock magic)");
		return VNIC_DECODE_BAD_MAGIC;
	}
	version = get_unaligned_le32(in + SB_VERSION);
	if (version != VNIC_FORMAT_VERSION) {
		snprintf(msg, msg_len, "format version %u is not supported (this module reads version %u)",
			 version, VNIC_FORMAT_VERSION);
		return VNIC_DECODE_BAD_VERSION;
	}
	stored_crc = get_unaligned_le32(in + SB_CRC);
	actual_crc = vnic_crc32c(0, in, SB_CRC);
	if (stored_crc != actual_crc) {
		snprintf(msg, msg_len, "superblock checksum mismatch (stored %08x, computed %08x)",
			 stored_crc, actual_crc);
		return VNIC_DECODE_BAD_CHECKSUM;
	}
	memcpy(sb->uuid, in + SB_UUID, sizeof(sb->uuid));
	sb->block_size = get_unaligned_le32(in + SB_BLOCK_SIZE);
	sb->slot_count = get_unaligned_le32(in + SB_SLOT_COUNT);
	sb->ring_blocks = get_unaligned_le64(in + SB_RING_BLOCKS);
	sb->created_unix_ns = get_unaligned_le64(in + SB_CREATED);
	memcpy(sb->label, in + SB_LABEL, VNIC_LABEL_BYTES);

	if (get_unaligned_le32(in + SB_ENCODED_BYTES) != VNIC_SUPERBLOCK_BYTES) {
		snprintf(msg, msg_len, "superblock length field is wrong");
		return VNIC_DECODE_BAD_FIELD;
	}
	if (!is_power_of_2(sb->block_size) || sb->block_size < VNIC_MIN_BLOCK_SIZE ||
	    sb->block_size > VNIC_MAX_BLOCK_SIZE) {
		snprintf(msg, msg_len, "block size %u is not a power of two between %u and %u",
			 sb->block_size, VNIC_MIN_BLOCK_SIZE, VNIC_MAX_BLOCK_SIZE);
		return VNIC_DECODE_BAD_FIELD;
	}
	if (sb->slot_count < 1 || sb->slot_count > VNIC_MAX_SLOTS) {
		snprintf(msg, msg_len, "slot count %u is not between 1 and %u",
			 sb->slot_count, VNIC_MAX_SLOTS);
		return VNIC_DECODE_BAD_FIELD;
	}
	if (sb->ring_blocks < VNIC_MIN_RING_BLOCKS || sb->ring_blocks > (1ULL << 40)) {
		snprintf(msg, msg_len, "ring length %llu blocks is out of range", sb->ring_blocks);
		return VNIC_DECODE_BAD_FIELD;
	}
	if (get_unaligned_le64(in + SB_STATE_TABLE) != VNIC_STATE_TABLE_OFFSET ||
	    get_unaligned_le32(in + SB_STATE_STRIDE) != VNIC_STATE_STRIDE) {
		snprintf(msg, msg_len, "state table placement is not the one this version uses");
		return VNIC_DECODE_BAD_FIELD;
	}
	if (get_unaligned_le64(in + SB_RINGS_OFFSET) !=
	    vnic_rings_offset(sb->block_size, sb->slot_count)) {
		snprintf(msg, msg_len, "rings offset does not match block size and slot count");
		return VNIC_DECODE_BAD_FIELD;
	}
	/* A layout past 2^62 bytes would wrap one slot's ring onto another's. */
	if (check_mul_overflow(sb->ring_blocks, (u64)sb->block_size, &ring_bytes) ||
	    check_mul_overflow(ring_bytes, (u64)sb->slot_count, &all_rings) ||
	    check_add_overflow(all_rings, vnic_rings_offset(sb->block_size, sb->slot_count),
			       &end) ||
	    end > (1ULL << 62)) {
		snprintf(msg, msg_len, "layout of %u slots x %llu blocks x %u bytes is larger than any volume",
			 sb->slot_count, sb->ring_blocks, sb->block_size);
		return VNIC_DECODE_BAD_FIELD;
	}
	if (strnlen(sb->label, VNIC_LABEL_BYTES) == VNIC_LABEL_BYTES) {
		snprintf(msg, msg_len, "label is not NUL-terminated");
		return VNIC_DECODE_BAD_FIELD;
	}
	msg[0] = '\0';
	return VNIC_DECODE_OK;
}

static void store_text(u8 *at, const char *text, size_t field_bytes)
{
	memcpy(at, text, strnlen(text, field_bytes - 1));
}

/* NUL-terminated and NUL-padded, or malformed. */
static bool load_text(const u8 *at, char *out, size_t field_bytes)
{
	size_t length = strnlen((const char *)at, field_bytes);

	if (length == field_bytes || memchr_inv(at + length, 0, field_bytes - length))
		return false;
	memcpy(out, at, field_bytes);
	return true;
}

size_t vnic_encode_state_record(const struct vnic_state_record *r, u8 *out)
{
	size_t length = r->version == 2 ? VNIC_STATE_V2_BYTES : VNIC_STATE_V1_BYTES;
	size_t crc_at = length - 4;
	int j;

	memset(out, 0, length);
	memcpy(out + ST_MAGIC, state_magic, sizeof(state_magic));
	put_unaligned_le32(r->version, out + ST_VERSION);
	put_unaligned_le32(r->slot, out + ST_SLOT);
	memcpy(out + ST_UUID, r->uuid, sizeof(r->uuid));
	put_unaligned_le64(r->epoch, out + ST_EPOCH);
	put_unaligned_le32(r->status, out + ST_STATUS);
	put_unaligned_le32(0, out + ST_FLAGS);
	put_unaligned_le64(r->heartbeat, out + ST_HEARTBEAT);
	put_unaligned_le64(r->head_sequence, out + ST_HEAD);
	put_unaligned_le64(r->writer_monotonic_ns, out + ST_MONOTONIC);
	put_unaligned_le64(r->epoch_first_sequence, out + ST_FIRST_SEQUENCE);
	for (j = 0; j < VNIC_MAX_SLOTS; j++)
		put_unaligned_le64(r->acks[j], out + ST_ACKS + 8 * j);
	if (r->version == 2) {
		store_text(out + ST_V2_OWNER, r->owner, VNIC_OWNER_BYTES);
		store_text(out + ST_V2_IFNAME, r->ifname, VNIC_IFNAME_BYTES);
		put_unaligned_le64(r->started_unix_ns, out + ST_V2_STARTED);
	}
	put_unaligned_le32(vnic_crc32c(0, out, crc_at), out + crc_at);
	return length;
}

enum vnic_decode_error vnic_decode_state_record(const u8 *in, struct vnic_state_record *r)
{
	u32 version, flags;
	size_t crc_at;
	int j;

	if (all_zero(in, VNIC_STATE_V1_BYTES))
		return VNIC_DECODE_ALL_ZERO;
	if (memcmp(in + ST_MAGIC, state_magic, sizeof(state_magic)))
		return VNIC_DECODE_BAD_MAGIC;
	version = get_unaligned_le32(in + ST_VERSION);
	if (version != 1 && version != 2)
		return VNIC_DECODE_BAD_VERSION;
	flags = get_unaligned_le32(in + ST_FLAGS);
	if (flags & ~VNIC_STATE_AUTHENTICATED)
		return VNIC_DECODE_BAD_VERSION;
	/* An authenticated record is as good as unreadable to a reader without keys. */
	if (flags & VNIC_STATE_AUTHENTICATED)
		return VNIC_DECODE_NO_KEY;
	crc_at = version == 2 ? ST_V2_CRC : ST_V1_CRC;
	if (get_unaligned_le32(in + crc_at) != vnic_crc32c(0, in, crc_at))
		return VNIC_DECODE_BAD_CHECKSUM;

	memset(r, 0, sizeof(*r));
	r->version = version;
	r->slot = get_unaligned_le32(in + ST_SLOT);
	memcpy(r->uuid, in + ST_UUID, sizeof(r->uuid));
	r->epoch = get_unaligned_le64(in + ST_EPOCH);
	r->status = get_unaligned_le32(in + ST_STATUS);
	r->heartbeat = get_unaligned_le64(in + ST_HEARTBEAT);
	r->head_sequence = get_unaligned_le64(in + ST_HEAD);
	r->writer_monotonic_ns = get_unaligned_le64(in + ST_MONOTONIC);
	r->epoch_first_sequence = get_unaligned_le64(in + ST_FIRST_SEQUENCE);
	for (j = 0; j < VNIC_MAX_SLOTS; j++)
		r->acks[j] = get_unaligned_le64(in + ST_ACKS + 8 * j);
	if (r->status > VNIC_STATUS_CLEAN_STOP || r->slot >= VNIC_MAX_SLOTS)
		return VNIC_DECODE_BAD_FIELD;
	if (version == 2) {
		if (!load_text(in + ST_V2_OWNER, r->owner, VNIC_OWNER_BYTES) ||
		    !load_text(in + ST_V2_IFNAME, r->ifname, VNIC_IFNAME_BYTES))
			return VNIC_DECODE_BAD_FIELD;
		r->started_unix_ns = get_unaligned_le64(in + ST_V2_STARTED);
	}
	return VNIC_DECODE_OK;
}

/* Version 2: bytes 0x00-0x3B, then 0x40-0x4B, the header alone. */
static u32 header_crc(const u8 *block)
{
	u32 crc = vnic_crc32c(0, block, BH_CRC);

	return vnic_crc32c(crc, block + BH_V2_DESTINATIONS, BH_V2_HEADER_CRC - BH_V2_DESTINATIONS);
}

void vnic_encode_block_header(const struct vnic_block_header *h, u8 *block)
{
	u16 version = h->version == 2 ? 2 : 1;

	put_unaligned_le32(BLOCK_MAGIC, block + BH_MAGIC);
	put_unaligned_le16(version, block + BH_VERSION);
	put_unaligned_le16(h->flags, block + BH_FLAGS);
	put_unaligned_le32(h->slot, block + BH_SLOT);
	put_unaligned_le32(h->record_count, block + BH_RECORD_COUNT);
	put_unaligned_le64(h->epoch, block + BH_EPOCH);
	put_unaligned_le64(h->sequence, block + BH_SEQUENCE);
	put_unaligned_le64(h->writer_timestamp_ns, block + BH_TIMESTAMP);
	put_unaligned_le32(h->valid_bytes, block + BH_VALID_BYTES);
	put_unaligned_le32(h->key_id, block + BH_KEY_ID);
	put_unaligned_le64(h->volume_tag, block + BH_VOLUME_TAG);
	put_unaligned_le32(0, block + BH_RESERVED);
	if (version == 2) {
		put_unaligned_le64(h->destinations, block + BH_V2_DESTINATIONS);
		put_unaligned_le32(0, block + BH_V2_RESERVED);
		/* Before the block CRC, which covers it. */
		put_unaligned_le32(header_crc(block), block + BH_V2_HEADER_CRC);
	}
}

static u32 block_crc(const u8 *block, u32 valid_bytes)
{
	u32 crc = vnic_crc32c(0, block, BH_CRC);

	return vnic_crc32c(crc, block + VNIC_BLOCK_HEADER_BYTES,
			   valid_bytes - VNIC_BLOCK_HEADER_BYTES);
}

void vnic_finish_block(u8 *block)
{
	u32 valid_bytes = get_unaligned_le32(block + BH_VALID_BYTES);

	put_unaligned_le32(block_crc(block, valid_bytes), block + BH_CRC);
}

enum vnic_block_check vnic_decode_block(const u8 *data, u32 have, u32 block_size,
					struct vnic_block_header *h)
{
	u32 least, header_bytes;

	memset(h, 0, sizeof(*h));
	if (have < VNIC_BLOCK_HEADER_BYTES)
		return VNIC_BLOCK_NEED_MORE;
	if (get_unaligned_le32(data + BH_MAGIC) != BLOCK_MAGIC)
		return all_zero(data, VNIC_BLOCK_HEADER_BYTES) ? VNIC_BLOCK_EMPTY
							       : VNIC_BLOCK_BAD_MAGIC;
	h->version = get_unaligned_le16(data + BH_VERSION);
	if (h->version != 1 && h->version != 2)
		return VNIC_BLOCK_BAD_VERSION;
	header_bytes = vnic_block_header_bytes(h->version);
	if (have < header_bytes)
		return VNIC_BLOCK_NEED_MORE;
	/* A torn version 2 header fails its own CRC before any field is believed. */
	if (h->version == 2 && header_crc(data) != get_unaligned_le32(data + BH_V2_HEADER_CRC))
		return VNIC_BLOCK_BAD_CHECKSUM;
	h->flags = get_unaligned_le16(data + BH_FLAGS);
	if ((h->flags & ~(VNIC_BLOCK_AUTHENTICATED | VNIC_BLOCK_ENCRYPTED)) ||
	    ((h->flags & VNIC_BLOCK_ENCRYPTED) && !(h->flags & VNIC_BLOCK_AUTHENTICATED)))
		return VNIC_BLOCK_UNKNOWN_FLAGS;
	h->slot = get_unaligned_le32(data + BH_SLOT);
	h->record_count = get_unaligned_le32(data + BH_RECORD_COUNT);
	h->epoch = get_unaligned_le64(data + BH_EPOCH);
	h->sequence = get_unaligned_le64(data + BH_SEQUENCE);
	h->writer_timestamp_ns = get_unaligned_le64(data + BH_TIMESTAMP);
	h->valid_bytes = get_unaligned_le32(data + BH_VALID_BYTES);
	h->key_id = get_unaligned_le32(data + BH_KEY_ID);
	h->volume_tag = get_unaligned_le64(data + BH_VOLUME_TAG);
	h->destinations = h->version == 2 ? get_unaligned_le64(data + BH_V2_DESTINATIONS)
					  : VNIC_ALL_DESTINATIONS;
	least = header_bytes + ((h->flags & VNIC_BLOCK_AUTHENTICATED) ? 16 : 0);
	/* A torn header looks like this too: valid_bytes cannot size a CRC. */
	if (h->valid_bytes < least || h->valid_bytes > block_size)
		return VNIC_BLOCK_BAD_LENGTH;
	if (h->valid_bytes > have)
		return VNIC_BLOCK_NEED_MORE;
	return block_crc(data, h->valid_bytes) == get_unaligned_le32(data + BH_CRC) ?
	       VNIC_BLOCK_OK : VNIC_BLOCK_BAD_CHECKSUM;
}

void vnic_encode_record_header(u8 *out, u32 length, u16 flags)
{
	put_unaligned_le32(length, out);
	put_unaligned_le16(flags, out + 4);
	put_unaligned_le16(0, out + 6);
}

void vnic_decode_record_header(const u8 *in, u32 *length, u16 *flags)
{
	*length = get_unaligned_le32(in);
	*flags = get_unaligned_le16(in + 4);
}

const char *vnic_block_check_name(enum vnic_block_check check)
{
	switch (check) {
	case VNIC_BLOCK_OK: return "ok";
	case VNIC_BLOCK_EMPTY: return "empty";
	case VNIC_BLOCK_BAD_MAGIC: return "bad magic";
	case VNIC_BLOCK_BAD_VERSION: return "unsupported version";
	case VNIC_BLOCK_UNKNOWN_FLAGS: return "unknown flags";
	case VNIC_BLOCK_BAD_LENGTH: return "bad length";
	case VNIC_BLOCK_NEED_MORE: return "need more";
	case VNIC_BLOCK_BAD_CHECKSUM: return "checksum mismatch";
	}
	return "unknown";
}
