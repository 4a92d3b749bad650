/* Handing off a blocking system call the shim could not see.
 *
 * A task blocked in a system call made with the `syscall` instruction
 * itself (a program's own system-call code, not libc's wrappers, which
 * are interposed) holds its worker. When the monitor finds such a worker
 * with other work waiting, its signal interrupts the call; the kernel
 * sets the thread up to restart it (SA_RESTART), which leaves the call's
 * number and arguments in the saved context. If it is one of the blocking
 * calls below, and none of its arguments points into a swapped TLS block
 * (another task's copy would be there while this one waits), the call is
 * made again on a helper thread while the task parks, and the task
 * resumes as if its own call had returned that result. The worker is
 * free meanwhile. Calls that act on the calling thread itself (signal
 * masks, gettid...) or that the kernel never restarts are left alone: the
 * task goes back to its call (the monitor's preemption, monitor.c). */
#include "../evs.h"
#include "handoff.h"
#include "sitetrap.h"
#include "offload.h"
#include "sched.h"
#include "tls.h"
#include "../arch/cpu.h"
#include "../libc/sys.h"
#include <sys/syscall.h>

static bool handed_off(long nr)
{
	switch (nr) {
	case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
	case SYS_pread64: case SYS_pwrite64: case SYS_preadv: case SYS_pwritev:
	case SYS_recvfrom: case SYS_sendto: case SYS_recvmsg: case SYS_sendmsg:
	case SYS_accept: case SYS_accept4: case SYS_connect:
	case SYS_wait4: case SYS_waitid: case SYS_futex: case SYS_flock:
	case SYS_fsync: case SYS_fdatasync: case SYS_open: case SYS_openat:
		return true;
	default:
		return false;
	}
}

long evs_handoff_raw(void *p)
{
	long *c = p;
	return evs_sys6(c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
}

bool evs_handoff_call_ok(const long call[7])
{
	if (!handed_off(call[0]))
		return false;
	for (int i = 1; i < 7; i++)
		if (evs_tls_overlaps((const void *)call[i], 1))
			return false;
	return true;
}

long evs_handoff_run(long call[7])
{
	evs_stat_add(EVS_ST_handoffs, 1);
	return evs_offload_call(evs_handoff_raw, call, true);
}

bool evs_handoff_syscall(ucontext_t *uc)
{
	long call[7];
	if (!evs_uc_restart_syscall(uc, call) || !evs_handoff_call_ok(call))
		return false;
	/* its next calls there come to the runtime at once (rt/sitetrap.c) */
	evs_sitetrap_learn(uc);
	evs_uc_finish_syscall(uc, evs_handoff_run(call));
	return true;
}
