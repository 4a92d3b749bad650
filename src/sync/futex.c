/* futex waits and wakes a task makes through libc's syscall(): what
 * libstdc++'s std::atomic::wait and std::counting_semaphore, and programs
 * with their own locks (InnoDB's), use. The wait parks the task in the
 * parking lot under the futex word's address; a wake made the same way
 * unparks lot waiters first and passes what is left to the kernel (for
 * threads the runtime does not own, and other processes).
 *
 * A wake the runtime cannot see (another process on a shared futex, a
 * thread using the syscall instruction itself) does not reach the lot. A
 * task's wait on a shared futex is therefore made in the kernel as well,
 * through its worker's io_uring (rt/kfutex.h), and such a wake ends it at
 * once, whether or not the word changed (stress-ng's futex stressor wakes
 * without changing it). Otherwise (a private futex, a kernel without the
 * operation) a parked waiter looks at the word every so often (from 1 ms,
 * doubling to EVS_LOT_POLL_MAX_NS): once it changed, the wait ends as a
 * wake-up would (futex callers must expect wake-ups without a change of
 * the word anyway, so one more look is always allowed). Operations other
 * than WAIT, WAIT_BITSET, WAKE and WAKE_BITSET are the kernel's. */
#include "../evs.h"
#include "futex.h"
#include "lot.h"
#include "../rt/sched.h"
#include "../rt/timer.h"
#include "../libc/sys.h"
#include <errno.h>
#include <linux/futex.h>

static long park(uint32_t *word, uint32_t val, int64_t deadline, bool restartable,
		 const struct evs_lot_kernel *kw)
{
	int64_t step = EVS_LOT_POLL_MIN_NS;
	for (bool first = true;; first = false) {
		long r = evs_lot_park_kernel(word, val, deadline, evs_now_ns() + step, EVS_WAIT_futex,
					     false, kw);
		switch (r) {
		case -EAGAIN:  /* the word differs: at first EAGAIN, later a wake-up */
			return first ? -EAGAIN : 0;
		case -ETIME:
			if (evs_now_ns() >= deadline)
				return -ETIMEDOUT;
			break;  /* only a look at the word: park again (it checks it) */
		case -EINTR:
			return -EINTR;
		case -ERESTART:
			if (!restartable)
				return -EINTR;
			break;
		default:
			return 0;  /* woken */
		}
		if (step < EVS_LOT_POLL_MAX_NS)
			step *= 2;
	}
}

long evs_futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts, uint32_t val3)
{
	int cmd = op & FUTEX_CMD_MASK;
	int64_t deadline = INT64_MAX;
	/* Another process wakes a shared word through the kernel alone: the
	 * wait is made there too (lot.h). A private word's wakes come through
	 * here, but for threads using the syscall instruction itself: those
	 * are left to the looks (a kernel wait costs two system calls). */
	struct evs_lot_kernel kw = { .shared = true, .mask = FUTEX_BITSET_MATCH_ANY };
	const struct evs_lot_kernel *k = (op & FUTEX_PRIVATE_FLAG) ? NULL : &kw;
	switch (cmd) {
	case FUTEX_WAIT:
		/* relative on CLOCK_MONOTONIC; a signal always interrupts a
		 * timed FUTEX_WAIT (the kernel cannot restart it) */
		if (ts) {
			if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
				return -EINVAL;
			deadline = evs_now_ns() + (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
		}
		return park(word, val, deadline, ts == NULL, k);
	case FUTEX_WAIT_BITSET:
		if (!val3)
			return -EINVAL;
		if (ts) {
			deadline = evs_abs_deadline((op & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME
									  : CLOCK_MONOTONIC, ts);
			if (deadline < 0)
				return -EINVAL;
		}
		kw.mask = val3;
		/* timed: a signal always interrupts it, as FUTEX_WAIT's */
		return park(word, val, deadline, ts == NULL, k);
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET: {
		/* the bitset is not matched: a lot waiter woke by another
		 * bitset only looks at its word and waits again */
		int n = (int)val, woke = n > 0 ? evs_lot_unpark(word, n) : 0;
		if (woke < n) {
			long k = evs_sys6(SYS_futex, word, op, n - woke, 0, 0, val3);
			if (k > 0)
				woke += (int)k;
		}
		return woke;
	}
	default:
		return EVS_USE_REAL;
	}
}
