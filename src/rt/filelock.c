/* File locks that wait (flock without LOCK_NB, fcntl F_SETLKW and
 * F_OFD_SETLKW) from a task: the non-blocking form is tried, and while the
 * lock is held elsewhere the task sleeps a little and tries again, from
 * 1 ms doubling up to EVS_LOCK_POLL_MAX_NS. The worker runs its other
 * tasks meanwhile. What differs (docs/differences.md): no queueing
 * fairness between waiters, and F_SETLKW's deadlock detection (EDEADLK)
 * is not done, since each try is a non-blocking F_SETLK. A signal's
 * handler interrupts the wait as natively (EINTR without SA_RESTART). */
#include "../evs.h"
#include "filelock.h"
#include "sched.h"
#include "signal.h"
#include "task.h"
#include "timer.h"
#include "../libc/sys.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>

#define EVS_LOCK_POLL_MIN_NS (1 * 1000000LL)
#define EVS_LOCK_POLL_MAX_NS (50 * 1000000LL)

/* try: the non-blocking attempt, 0 or -errno; `busy` is the errno that
 * means "held elsewhere". */
static long wait_for_lock(long (*try)(int fd, long a, long b), int fd, long a, long b,
			  long busy1, long busy2, bool cancel_point)
{
	int64_t step = EVS_LOCK_POLL_MIN_NS;
	for (;;) {
		long r = try(fd, a, b);
		if (r != -busy1 && r != -busy2)
			return r;
		uint64_t tok = evs_wait_open(cancel_point ? 0 : EVS_WAIT_NOCANCEL);
		int why = evs_park(tok, evs_now_ns() + step, EVS_WAIT_lock, fd);
		if (why == EVS_WAKE_CANCEL)
			return -ECANCELED;
		if (why == EVS_WAKE_SIGNAL && (evs_sig_run() & EVS_SIG_NORESTART))
			return -EINTR;
		if (step < EVS_LOCK_POLL_MAX_NS)
			step *= 2;
	}
}

static long try_flock(int fd, long op, long unused)
{
	(void)unused;
	return evs_sys3(SYS_flock, fd, op | LOCK_NB, 0);
}

static long try_setlk(int fd, long cmd, long arg)
{
	return evs_sys3(SYS_fcntl, fd, cmd, arg);
}

long evs_flock(int fd, int op)
{
	if (op & LOCK_NB)
		return evs_sys3(SYS_flock, fd, op, 0);
	return wait_for_lock(try_flock, fd, op, 0, EWOULDBLOCK, EWOULDBLOCK, false);
}

long evs_setlkw(int fd, int cmd, void *lock)
{
	int nb = cmd == F_OFD_SETLKW ? F_OFD_SETLK : F_SETLK;
	return wait_for_lock(try_setlk, fd, nb, (long)lock, EAGAIN, EACCES, true);
}
