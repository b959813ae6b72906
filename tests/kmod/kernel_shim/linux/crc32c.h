#ifndef VNIC_SHIM_CRC32C_H
#define VNIC_SHIM_CRC32C_H
#include <linux/types.h>
/* The kernel's contract: the raw reflected update, no inversions (lib/libcrc32c.c). */
static inline u32 crc32c(u32 crc, const void *address, unsigned int length)
{
	const u8 *p = (const u8 *)address;
	while (length--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
	}
	return crc;
}
#endif
