#ifndef VNIC_SHIM_MATH64_H
#define VNIC_SHIM_MATH64_H
#include <linux/types.h>
static inline u64 div64_u64_rem(u64 dividend, u64 divisor, u64 *remainder)
{
	*remainder = dividend % divisor;
	return dividend / divisor;
}
#endif
