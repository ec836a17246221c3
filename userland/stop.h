/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Why the virtual machine stops.  Devices, the run loop, the I/O thread and
 * the console each file a request; the first one is kept (later ones are
 * consequences) and decides the launcher's exit status.  Callers hold the
 * device lock.
 */
#ifndef BT86_STOP_H
#define BT86_STOP_H

enum stop_reason {
	STOP_NONE,
	STOP_DEBUG_EXIT,   /* write to the debug-exit port; status set */
	STOP_HALT,	   /* HLT with interrupts disabled */
	STOP_RESET_I8042,  /* reset through the keyboard controller */
	STOP_RESET_PORT92, /* fast reset through port 0x92 */
	STOP_CRASH,	   /* triple fault, entry failure, internal error */
	STOP_SIGNAL,	   /* SIGINT/SIGTERM/SIGHUP; status = signal */
	STOP_QUIT,	   /* Ctrl-A x on the console */
	STOP_ERROR,	   /* the launcher or the backend failed */
};

struct stop_request {
	enum stop_reason reason;
	int status;
};

static inline void stop__request(struct stop_request *stop,
				 enum stop_reason reason, int status)
{
	if (stop->reason != STOP_NONE)
		return;
	stop->reason = reason;
	stop->status = status;
}

#endif
