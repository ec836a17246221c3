/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stands in for <linux/ioctl.h> in the freestanding monitor: the uapi
 * header defines its ioctl numbers with these, and the monitor never
 * issues an ioctl, so they only need to exist.
 */
#ifndef BT86_MONITOR_LINUX_IOCTL_H
#define BT86_MONITOR_LINUX_IOCTL_H

#define _IO(type, nr)	     0
#define _IOR(type, nr, size) 0
#define _IOW(type, nr, size) 0

#endif
