/* Stand-in for the kernel's linux/version.h: the userspace build of vnic_format.c is Debian 12's 6.1. */
#pragma once
#define KERNEL_VERSION(a, b, c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))
#define LINUX_VERSION_CODE KERNEL_VERSION(6, 1, 0)
