/* Semaphores, in glibc's layout (64-bit):
 *
 *   value    @0   the count
 *   waiters  @4   callers between "about to park" and "left the lot"
 *   private  @8   glibc's futex flag: 0 for process-private semaphores,
 *                 non-zero for process-shared and named ones (sem_open)
 * A waiter announces itself (waiters++), then parks only while value is 0;
 * a poster raises value, then unparks if anyone announced. Both first
 * steps are seq_cst, so one of them sees the other.
 *
 * A process-shared semaphore is the same protocol as glibc's, so tasks,
 * threads the runtime does not own and other processes (with or without
 * the shim) can share it: a poster here also makes the kernel wake-up
 * glibc's waiters expect, and a task waiting here waits in the kernel as
 * well (lot.h, evs_lot_park_kernel), since a post made in another process
 * wakes only the kernel's waiters; where it cannot, it parks in slices,
 * looking at the value after each. (CPython's multiprocessing locks are
 * these; a task that waited in glibc's futex call kept its worker from
 * the tasks that would end the wait.) */
#include "../evs.h"
#include "sync.h"
#include "lot.h"
#include "../rt/timer.h"
#include "../libc/sys.h"
#include <errno.h>
#include <linux/futex.h>
#include <limits.h>
#include <string.h>

struct sm {
	uint32_t value;
	uint32_t waiters;
	int private_;
};

int evs_sem_is_ours(const sem_t *s)
{
	return ((const struct sm *)s)->private_ == 0;
}

int evs_sem_init(sem_t *s, unsigned value)
{
	if (value > SEM_VALUE_MAX)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	((struct sm *)s)->value = value;
	return 0;
}

static int take(struct sm *x)
{
	uint32_t v = __atomic_load_n(&x->value, __ATOMIC_RELAXED);
	while (v > 0)
		if (__atomic_compare_exchange_n(&x->value, &v, v - 1, 1, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return 1;
	return 0;
}

int evs_sem_wait(sem_t *s, int64_t deadline, int try_only)
{
	struct sm *x = (struct sm *)s;
	if (take(x))
		return 0;
	if (try_only)
		return -EAGAIN;
	if (deadline < 0)
		return -EINVAL;
	/* A post by another process wakes only the kernel's waiters: a
	 * shared semaphore's wait is made there too, or else looks (lot.h). */
	bool shared = x->private_ != 0;
	const struct evs_lot_kernel kw = { .shared = true, .mask = FUTEX_BITSET_MATCH_ANY };
	int64_t step = EVS_LOT_POLL_MIN_NS;
	__atomic_add_fetch(&x->waiters, 1, __ATOMIC_SEQ_CST);
	int r = 0;
	while (!take(x)) {
		long p = shared ? evs_lot_park_kernel(&x->value, 0, deadline, evs_now_ns() + step,
						      EVS_WAIT_sem, true, &kw)
				: evs_lot_park(&x->value, 0, deadline, EVS_WAIT_sem, true);
		if (shared && step < EVS_LOT_POLL_MAX_NS)
			step *= 2;
		if (p == -ETIME && evs_now_ns() < deadline)
			continue;
		if (p == -ETIME) {
			r = take(x) ? 0 : -ETIMEDOUT;
			break;
		}
		if (p == -ECANCELED || p == -EINTR) {  /* EINTR: no SA_RESTART */
			r = (int)p;
			break;
		}
		/* every handler asked for restarts: an untimed wait goes on, a
		 * timed one fails with EINTR all the same (the kernel cannot
		 * restart a futex wait with an absolute timeout) */
		if (p == -ERESTART && deadline != INT64_MAX) {
			r = -EINTR;
			break;
		}
	}
	__atomic_sub_fetch(&x->waiters, 1, __ATOMIC_RELAXED);
	return r;
}

int evs_sem_post(sem_t *s)
{
	struct sm *x = (struct sm *)s;
	uint32_t v = __atomic_load_n(&x->value, __ATOMIC_RELAXED);
	do {
		if (v >= SEM_VALUE_MAX)
			return -EOVERFLOW;
	} while (!__atomic_compare_exchange_n(&x->value, &v, v + 1, 1, __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
	if (__atomic_load_n(&x->waiters, __ATOMIC_SEQ_CST) &&
	    evs_lot_unpark(&x->value, 1) == 0 && x->private_ != 0)
		/* glibc's waiters (other processes, threads the runtime does
		 * not own): its futex_wake, with its private-flag convention */
		evs_sys6(SYS_futex, &x->value, FUTEX_WAKE | (FUTEX_PRIVATE_FLAG ^ x->private_), 1,
			 0, 0, 0);
	return 0;
}

int evs_sem_value(sem_t *s)
{
	return (int)__atomic_load_n(&((struct sm *)s)->value, __ATOMIC_RELAXED);
}
