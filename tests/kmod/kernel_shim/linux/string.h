#ifndef VNIC_SHIM_STRING_H
#define VNIC_SHIM_STRING_H
#include <string.h>
#include <linux/types.h>
static inline void *memchr_inv(const void *start, int c, size_t bytes)
{
	const u8 *p = (const u8 *)start;
	for (size_t i = 0; i < bytes; i++)
		if (p[i] != (u8)c)
			return (void *)(p + i);
	return NULL;
}
#endif
