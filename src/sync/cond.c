/* Condition variables.
 *
 *   seq      @0   bumped by every signal and broadcast
 *   waiters  @4   tasks and threads between "read seq" and "left the lot"
 *   flags    @36  glibc's __wrefs bits: 1 process-shared (passed to glibc),
 *                 2 CLOCK_MONOTONIC (pthread_condattr_setclock)
 * A waiter reads seq, releases the mutex and parks only while seq is
 * unchanged, so a signal between the release and the park is never lost.
 * Spurious wake-ups are allowed (POSIX); a signal wakes at least one
 * waiter that is really waiting (the lot skips leaving ones). */
#include "../evs.h"
#include "sync.h"
#include "lot.h"
#include <errno.h>
#include <stdbool.h>
#include <string.h>

struct cnd {
	uint32_t seq;
	uint32_t waiters;
};

#define FLAGS(c) (((const uint32_t *)(c))[9])  /* glibc's __wrefs, offset 36 */
_Static_assert(offsetof(pthread_cond_t, __data.__wrefs) == 36, "glibc condvar flags word");
#define F_SHARED 1
#define F_MONO 2

int evs_cond_is_ours(const pthread_cond_t *c)
{
	return !(FLAGS(c) & F_SHARED);
}

int evs_cond_init(pthread_cond_t *c, const pthread_condattr_t *a)
{
	clockid_t clk = CLOCK_REALTIME;
	if (a)
		pthread_condattr_getclock(a, &clk);
	memset(c, 0, sizeof(*c));
	if (clk == CLOCK_MONOTONIC)
		((uint32_t *)c)[9] = F_MONO;
	return 0;
}

clockid_t evs_cond_clock(const pthread_cond_t *c)
{
	return (FLAGS(c) & F_MONO) ? CLOCK_MONOTONIC : CLOCK_REALTIME;
}

int evs_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, int64_t deadline)
{
	struct cnd *x = (struct cnd *)c;
	unsigned count;
	if (deadline < 0)
		return -EINVAL;
	/* a mutex left to glibc (robust, process-shared...) is unlocked and
	 * locked again as glibc's; glibc's own wait on this condition's words
	 * would never see its signals */
	bool foreign = !evs_mutex_is_ours(m);
	__atomic_add_fetch(&x->waiters, 1, __ATOMIC_SEQ_CST);
	uint32_t seq = __atomic_load_n(&x->seq, __ATOMIC_SEQ_CST);
	int r = foreign ? evs_mutex_foreign_release(m) : evs_mutex_release(m, &count);
	if (r) {
		__atomic_sub_fetch(&x->waiters, 1, __ATOMIC_RELAXED);
		return r;
	}
	long p;
	do  /* a signal's handler runs; the wait goes on, as glibc's does */
		p = evs_lot_park(&x->seq, seq, deadline, EVS_WAIT_cond, true);
	while (p == -EINTR || p == -ERESTART);
	__atomic_sub_fetch(&x->waiters, 1, __ATOMIC_RELAXED);
	int relock = 0;
	if (foreign)
		relock = evs_mutex_foreign_reacquire(m);
	else
		evs_mutex_reacquire(m, count);
	if (p == -ECANCELED)
		return -ECANCELED;  /* the hook acts on it, mutex held */
	if (relock)  /* as glibc: the relock's error wins */
		return relock;
	if (p == -ETIME && __atomic_load_n(&x->seq, __ATOMIC_ACQUIRE) == seq)
		return -ETIMEDOUT;
	return 0;
}

int evs_cond_wake(pthread_cond_t *c, int all)
{
	struct cnd *x = (struct cnd *)c;
	__atomic_add_fetch(&x->seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&x->waiters, __ATOMIC_SEQ_CST))
		evs_lot_unpark(&x->seq, all ? -1 : 1);
	return 0;
}
