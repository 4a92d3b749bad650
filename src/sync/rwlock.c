/* Reader-writer locks.
 *
 *   state   @0   bit 31: a writer holds it; bits 0-29: readers holding
 *   wwait   @4   writers waiting (writer-preferring kind blocks new
 *                readers while non-zero)
 *   seq     @8   bumped at every release that may let someone in; both
 *                readers and writers park on it
 *   writer  @24  id of the writing holder (glibc's __cur_writer slot)
 *   shared  @28  glibc's: process-shared locks stay glibc's
 *   flags   @48  glibc's kind: 0/1 prefer readers (readers may recurse),
 *                2 prefer writers, non-recursive readers
 * A release bumps seq and wakes every parked waiter; they race for the
 * lock again. Simple and never loses a wake-up; fine for the short
 * critical sections rwlocks guard.
 *
 * A process-shared rwlock keeps glibc's words and protocol (another
 * process may hold it), and glibc's wait is a futex wait in the kernel. A
 * task tries glibc's trylock on its worker; when that says EBUSY, a task
 * among others makes glibc's lock on a thread of the blocking pool (which
 * gets one for it whatever its bound) while it parks. glibc names the
 * writer by its kernel thread id (__cur_writer), which its unlock compares
 * with its caller's to tell a write unlock from a read unlock: a write
 * lock taken on the pool's thread is given the worker's id before the job
 * ends, and the task stays on that worker until it lets go (glibc_locks,
 * as for a mutex of glibc's). The task's own id goes in __pad3, a word
 * glibc 2.36 never uses, so that its own second lock says EDEADLK as
 * glibc's does, while another task of the worker (the same kernel thread
 * to glibc) waits. Before (2026-12-03) a task held its worker in glibc's
 * wait (40 threads on 1 or 2 workers: the tasks past the monitor's bound
 * never ran), and a task's lock of one another task of its worker held
 * said EDEADLK. */
#include "../evs.h"
#include "sync.h"
#include "lot.h"
#include "../rt/offload.h"
#include "../rt/sched.h"
#include "../rt/task.h"
#include "../libc/real.h"
#include "../libc/sys.h"
#include <errno.h>
#include <string.h>

struct rw {
	uint32_t state;
	uint32_t wwait;
	uint32_t seq;
	uint32_t parked;
	uint32_t pad[2];
	int writer;
	int shared;
};
_Static_assert(offsetof(struct rw, writer) == offsetof(pthread_rwlock_t, __data.__cur_writer), "");
_Static_assert(offsetof(struct rw, shared) == offsetof(pthread_rwlock_t, __data.__shared), "");
#define FLAGS(l) ((l)->__data.__flags)
#define WRITER 0x80000000u
#define READERS 0x3fffffffu

int evs_rwlock_is_ours(const pthread_rwlock_t *l)
{
	return l->__data.__shared == 0;
}

int evs_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *a)
{
	int kind = PTHREAD_RWLOCK_PREFER_READER_NP;
	if (a)
		pthread_rwlockattr_getkind_np(a, &kind);
	memset(l, 0, sizeof(*l));
	FLAGS(l) = (unsigned)kind;
	return 0;
}

static int park(struct rw *x, uint32_t seq, int64_t deadline)
{
	__atomic_add_fetch(&x->parked, 1, __ATOMIC_SEQ_CST);
	long p = evs_lot_park(&x->seq, seq, deadline, EVS_WAIT_rwlock, false);
	__atomic_sub_fetch(&x->parked, 1, __ATOMIC_RELAXED);
	return p == -ETIME ? -ETIMEDOUT : 0;
}

int evs_rwlock_rdlock(pthread_rwlock_t *l, int64_t deadline, int try_only)
{
	struct rw *x = (struct rw *)l;
	int prefer_writer = FLAGS(l) == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP;
	if (!try_only && x->writer == evs_sync_self_id() && (x->state & WRITER))
		return -EDEADLK;  /* glibc: a try-lock answers EBUSY instead */
	for (;;) {
		uint32_t seq = __atomic_load_n(&x->seq, __ATOMIC_SEQ_CST);
		uint32_t s = __atomic_load_n(&x->state, __ATOMIC_RELAXED);
		if (!(s & WRITER) && !(prefer_writer && __atomic_load_n(&x->wwait, __ATOMIC_RELAXED))) {
			if ((s & READERS) == READERS)
				return -EAGAIN;
			if (__atomic_compare_exchange_n(&x->state, &s, s + 1, 1, __ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED))
				return 0;
			continue;
		}
		if (try_only)
			return -EBUSY;
		if (deadline < 0)
			return -EINVAL;
		if (park(x, seq, deadline))
			return -ETIMEDOUT;
	}
}

int evs_rwlock_wrlock(pthread_rwlock_t *l, int64_t deadline, int try_only)
{
	struct rw *x = (struct rw *)l;
	int id = evs_sync_self_id();
	if (!try_only && x->writer == id && (x->state & WRITER))
		return -EDEADLK;
	int counted = 0, r = 0;
	for (;;) {
		uint32_t seq = __atomic_load_n(&x->seq, __ATOMIC_SEQ_CST);
		uint32_t zero = 0;
		if (__atomic_compare_exchange_n(&x->state, &zero, WRITER, 0, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED)) {
			x->writer = id;
			break;
		}
		if (try_only) {
			r = -EBUSY;
			break;
		}
		if (deadline < 0) {
			r = -EINVAL;
			break;
		}
		if (!counted) {
			__atomic_add_fetch(&x->wwait, 1, __ATOMIC_SEQ_CST);
			counted = 1;
			continue;  /* re-check with wwait visible */
		}
		if ((r = park(x, seq, deadline)))
			break;
	}
	if (counted && __atomic_sub_fetch(&x->wwait, 1, __ATOMIC_SEQ_CST) == 0 && r) {
		/* A timed-out writer may have been holding readers back. */
		__atomic_add_fetch(&x->seq, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&x->parked, __ATOMIC_SEQ_CST))
			evs_lot_unpark(&x->seq, -1);
	}
	return r;
}

int evs_rwlock_unlock(pthread_rwlock_t *l)
{
	struct rw *x = (struct rw *)l;
	uint32_t s = __atomic_load_n(&x->state, __ATOMIC_RELAXED);
	if (s & WRITER) {
		if (x->writer != evs_sync_self_id())
			return -EPERM;
		x->writer = 0;
		__atomic_store_n(&x->state, 0, __ATOMIC_RELEASE);
	} else {
		if ((s & READERS) == 0)
			return -EPERM;
		if (__atomic_sub_fetch(&x->state, 1, __ATOMIC_RELEASE) != 0)
			return 0;  /* other readers still hold it: nobody can enter */
	}
	__atomic_add_fetch(&x->seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&x->parked, __ATOMIC_SEQ_CST))
		evs_lot_unpark(&x->seq, -1);
	return 0;
}

/* --- process-shared: glibc's --------------------------------------------- */

#define GLIBC_TASK(l) ((l)->__data.__pad3)  /* the writing task (see above) */

struct glibc_lock {
	pthread_rwlock_t *l;
	int write, how;  /* 0 plain, 1 timed (CLOCK_REALTIME), 2 clock, 3 try */
	clockid_t clk;
	const struct timespec *ts;
	int worker_tid;
};

static int glibc_lock(const struct glibc_lock *g)
{
	if (g->write)
		return g->how == 0 ? REAL(pthread_rwlock_wrlock)(g->l)
		     : g->how == 1 ? REAL(pthread_rwlock_timedwrlock)(g->l, g->ts)
				   : REAL(pthread_rwlock_clockwrlock)(g->l, g->clk, g->ts);
	return g->how == 0 ? REAL(pthread_rwlock_rdlock)(g->l)
	     : g->how == 1 ? REAL(pthread_rwlock_timedrdlock)(g->l, g->ts)
			   : REAL(pthread_rwlock_clockrdlock)(g->l, g->clk, g->ts);
}

/* On the pool's thread: the writer glibc recorded (this thread) becomes
 * the task's worker before any other job can run here. */
static long glibc_lock_job(void *p)
{
	struct glibc_lock *g = p;
	int r = glibc_lock(g);
	if (r == 0 && g->write)
		__atomic_store_n(&g->l->__data.__cur_writer, g->worker_tid, __ATOMIC_RELAXED);
	return r;
}

int evs_rwlock_glibc_lock(pthread_rwlock_t *l, int write, int how, clockid_t clk,
			  const struct timespec *ts)
{
	struct glibc_lock g = { l, write, how, clk, ts, 0 };
	struct evs_task *t = evs_current();
	if (!t)
		return glibc_lock(&g);
	/* glibc's order: the clock and the timeout, then its own deadlock
	 * (this task, not another of its worker), then the wait */
	if (how == 1)
		clk = CLOCK_REALTIME;
	__asm__("" : "+r"(ts));  /* declared nonnull; glibc's NULL: no timeout */
	if ((how == 1 || how == 2) && ts && ((clk != CLOCK_MONOTONIC && clk != CLOCK_REALTIME) ||
			  ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L))
		return EINVAL;
	g.worker_tid = (int)evs_sys3(SYS_gettid, 0, 0, 0);
	int self = evs_sync_self_id();
	if (how != 3 && __atomic_load_n(&l->__data.__cur_writer, __ATOMIC_RELAXED) == g.worker_tid &&
	    GLIBC_TASK(l) == (unsigned)self)
		return EDEADLK;
	int r = write ? REAL(pthread_rwlock_trywrlock)(l) : REAL(pthread_rwlock_tryrdlock)(l);
	if (r == EBUSY && how != 3) {
		/* a process's only task: its worker has nobody else to run */
		if (evs_lone_runs())
			r = glibc_lock(&g);
		else
			r = (int)evs_offload_call(glibc_lock_job, &g, true);
	}
	if (r == 0 && write) {
		GLIBC_TASK(l) = (unsigned)self;
		evs_glibc_hold(l);
	}
	return r;
}

int evs_rwlock_glibc_unlock(pthread_rwlock_t *l)
{
	struct evs_task *t = evs_current();
	/* glibc's test for a write unlock (its caller's thread id) */
	if (t && __atomic_load_n(&l->__data.__cur_writer, __ATOMIC_RELAXED) ==
			 (int)evs_sys3(SYS_gettid, 0, 0, 0) &&
	    GLIBC_TASK(l) == (unsigned)evs_sync_self_id()) {
		GLIBC_TASK(l) = 0;
		evs_glibc_let_go(l);
	}
	return REAL(pthread_rwlock_unlock)(l);
}
