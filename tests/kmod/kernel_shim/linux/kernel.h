#ifndef VNIC_SHIM_KERNEL_H
#define VNIC_SHIM_KERNEL_H
#include <assert.h>
#include <stdio.h>
#include <linux/types.h>
#define round_up(x, y) ((((x) + (y) - 1) / (y)) * (y))
#endif
