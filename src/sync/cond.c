/* Condition variables.
 *
 *   seq      @0   bumped by every signal and broadcast
 *   waiters  @4   tasks and threads between "read seq" and "left the lot"
 *   flags    @36  glibc's __wrefs bits: 1 process-shared (passed to glibc),
 *                 2 CLOCK_MONOTONIC (pthread_condattr_setclock)
 * A waiter reads seq, releases the mutex and parks only while seq is
 * unchanged, so a signal between the release and the park is never lost.
 * Spurious wake-ups are allowed (POSIX); a signal wakes at least one
 * waiter that is really waiting (the lot skips leaving ones).
 *
 * A process-shared condition keeps glibc's words and protocol (another
 * process may wait or signal), and glibc's wait is a futex wait in the
 * kernel that no hook sees. A task among others makes that whole wait
 * (unlock, wait, lock again) on a thread of the blocking pool, which gets
 * a thread for it whatever its bound, while the task parks: its worker
 * runs the others. Before (2026-12-03), the task held its worker there;
 * yadifad's pools (140 threads on process-shared conditions) took every
 * worker the monitor could add, and the tasks past them never ran. */
#include "../evs.h"
#include "sync.h"
#include "lot.h"
#include "../rt/offload.h"
#include "../rt/sched.h"
#include "../rt/task.h"
#include "../libc/real.h"
#include "../libc/sys.h"
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

struct glibc_wait {
	pthread_cond_t *c;
	pthread_mutex_t *m;
	int how;
	clockid_t clk;
	const struct timespec *ts;
};

static int glibc_wait(struct glibc_wait *g)
{
	switch (g->how) {
	case 0:
		return REAL(pthread_cond_wait)(g->c, g->m);
	case 1:
		return REAL(pthread_cond_timedwait)(g->c, g->m, g->ts);
	default:
		return REAL(pthread_cond_clockwait)(g->c, g->m, g->clk, g->ts);
	}
}

/* On the pool's thread. glibc's unlock of an error-checking or recursive
 * mutex wants its owner to be the caller, and its lock records the
 * caller: the pool thread's id while glibc has it, the task's worker's
 * (the owner glibc had; the task stays on that worker while it holds a
 * mutex of glibc's) once the mutex is held again. */
static long glibc_wait_job(void *p)
{
	struct glibc_wait *g = p;
	int owner = __atomic_load_n(&g->m->__data.__owner, __ATOMIC_RELAXED);
	__atomic_store_n(&g->m->__data.__owner, (int)evs_sys3(SYS_gettid, 0, 0, 0), __ATOMIC_RELAXED);
	int r = glibc_wait(g);
	__atomic_store_n(&g->m->__data.__owner, owner, __ATOMIC_RELAXED);
	return r;
}

int evs_cond_glibc_wait(pthread_cond_t *c, pthread_mutex_t *m, int how, clockid_t clk,
			const struct timespec *ts)
{
	struct glibc_wait g = { c, m, how, clk, ts };
	/* Not for a mutex of ours (glibc's wait would unlock it as its own)
	 * nor a robust, PI or PP one (the kernel and glibc tie those to the
	 * locking thread: its robust list, the PI futex's owner); nor for a
	 * process's only task, whose worker has nobody else to run. */
	if (!evs_current() || evs_lone_runs() || evs_mutex_is_ours(m) ||
	    (m->__data.__kind & (16 | 32 | 64)))
		return glibc_wait(&g);
	return (int)evs_offload_call(glibc_wait_job, &g, true);
}
