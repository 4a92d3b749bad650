/* Barriers: the last of `count` arrivals starts a new round and wakes the
 * others; it gets PTHREAD_BARRIER_SERIAL_THREAD.
 *
 *   arrived @0, round @4 (parked on), count @8, shared @12 (glibc's:
 *   process-shared barriers stay glibc's)
 *
 * A process-shared barrier keeps glibc's words and protocol (other
 * processes wait on it), and glibc's wait is a futex wait in the kernel:
 * a task among others makes it on a thread of the blocking pool (which
 * gets one for it whatever its bound) while it parks. glibc's barrier
 * records no thread. Before (2026-12-03) the task held its worker there:
 * with more waiters than the monitor's bound of workers, the tasks past
 * it never arrived and the barrier never opened. */
#include "../evs.h"
#include "sync.h"
#include "lot.h"
#include "../rt/offload.h"
#include "../rt/sched.h"
#include "../rt/task.h"
#include "../libc/real.h"
#include <errno.h>
#include <string.h>

struct bar {
	uint32_t arrived;
	uint32_t round;
	uint32_t count;
	uint32_t shared;
};

int evs_barrier_is_ours(const pthread_barrier_t *b)
{
	return ((const struct bar *)b)->shared == 0;
}

int evs_barrier_init(pthread_barrier_t *b, unsigned count)
{
	if (count == 0)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	((struct bar *)b)->count = count;
	return 0;
}

int evs_barrier_wait(pthread_barrier_t *b)
{
	struct bar *x = (struct bar *)b;
	uint32_t round = __atomic_load_n(&x->round, __ATOMIC_ACQUIRE);
	if (__atomic_add_fetch(&x->arrived, 1, __ATOMIC_ACQ_REL) == x->count) {
		__atomic_store_n(&x->arrived, 0, __ATOMIC_RELAXED);
		__atomic_add_fetch(&x->round, 1, __ATOMIC_SEQ_CST);
		evs_lot_unpark(&x->round, -1);
		return 1;  /* the serial thread: the hook says PTHREAD_BARRIER_SERIAL_THREAD */
	}
	while (__atomic_load_n(&x->round, __ATOMIC_ACQUIRE) == round)
		evs_lot_park(&x->round, round, INT64_MAX, EVS_WAIT_barrier, false);
	return 0;
}

static long glibc_wait_job(void *b)
{
	return REAL(pthread_barrier_wait)(b);
}

int evs_barrier_glibc_wait(pthread_barrier_t *b)
{
	/* a process's only task: its worker has nobody else to run */
	if (!evs_current() || evs_lone_runs())
		return REAL(pthread_barrier_wait)(b);
	return (int)evs_offload_call(glibc_wait_job, b, true);
}
