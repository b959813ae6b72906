#ifndef VNIC_SHIM_UNALIGNED_H
#define VNIC_SHIM_UNALIGNED_H
#include <linux/types.h>
#define VNIC_SHIM_LE(bits)								\
static inline u##bits get_unaligned_le##bits(const void *p)				\
{											\
	u##bits v = 0;									\
	for (int i = bits / 8 - 1; i >= 0; i--)						\
		v = (u##bits)((v << 8) | ((const u8 *)p)[i]);				\
	return v;									\
}											\
static inline void put_unaligned_le##bits(u##bits v, void *p)				\
{											\
	for (int i = 0; i < bits / 8; i++)						\
		((u8 *)p)[i] = (u8)(v >> (8 * i));					\
}
VNIC_SHIM_LE(16)
VNIC_SHIM_LE(32)
VNIC_SHIM_LE(64)
#endif
