/* Just enough of the kernel's headers to build kmod-shim/vnic_format.c in userspace, so that the
 * module's encoders and decoders are checked against blockxport's without a kernel. */
#ifndef VNIC_SHIM_TYPES_H
#define VNIC_SHIM_TYPES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef unsigned long long u64;	/* as the kernel has it: %llu prints it */
#endif
