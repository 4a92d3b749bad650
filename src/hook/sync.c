/* Mutexes, condition variables, rwlocks, barriers, once, spinlocks and
 * unnamed semaphores: served by src/sync/ for every caller, task or not,
 * so an object shared by both stays consistent. Process-shared, robust and
 * priority-protocol objects, and everything under EVSHIM_DISABLE=1, go to
 * glibc. */
#include "hook.h"
#include "../rt/config.h"
#include "../sync/sync.h"
#include "../sync/sysvipc.h"
#include "../rt/task.h"
#include "../rt/timer.h"
#include <time.h>

static inline int off(void)
{
	return evs_config.disable;
}

/* --- mutex ------------------------------------------------------------ */

EVS_HOOK int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
	int ps = 0, robust = 0, proto = PTHREAD_PRIO_NONE;
	if (a) {
		pthread_mutexattr_getpshared(a, &ps);
		pthread_mutexattr_getrobust(a, &robust);
		pthread_mutexattr_getprotocol(a, &proto);
	}
	if (off() || ps || robust || proto != PTHREAD_PRIO_NONE)
		return REAL(pthread_mutex_init)(m, a);
	return -evs_mutex_init(m, a);
}

EVS_HOOK int pthread_mutex_destroy(pthread_mutex_t *m)
{
	if (off() || !evs_mutex_is_ours(m))
		return REAL(pthread_mutex_destroy)(m);
	return -evs_mutex_destroy(m);
}

/* Our mutexes first (the common path). One left to glibc (robust, PI,
 * PP, process-shared) that a task waits for parks (sync/mutex.c) rather
 * than holding its worker in glibc's kernel wait; a thread the runtime
 * does not own uses glibc's as it is. */
EVS_HOOK int pthread_mutex_lock(pthread_mutex_t *m)
{
	if (off())
		return REAL(pthread_mutex_lock)(m);
	if (evs_mutex_is_ours(m))
		return -evs_mutex_lock(m, INT64_MAX, 0);
	if (evs_current())
		return -evs_mutex_foreign_lock(m, INT64_MAX);
	return REAL(pthread_mutex_lock)(m);
}

EVS_HOOK int pthread_mutex_trylock(pthread_mutex_t *m)
{
	if (off())
		return REAL(pthread_mutex_trylock)(m);
	if (evs_mutex_is_ours(m))
		return -evs_mutex_lock(m, INT64_MAX, 1);
	if (!evs_current())
		return REAL(pthread_mutex_trylock)(m);
	return evs_mutex_foreign_trylock(m);
}

EVS_HOOK int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clk, const struct timespec *ts)
{
	bool known = clk == CLOCK_MONOTONIC || clk == CLOCK_REALTIME;
	if (off())
		return REAL(pthread_mutex_clocklock)(m, clk, ts);
	if (evs_mutex_is_ours(m))
		return known ? -evs_mutex_lock(m, evs_abs_deadline(clk, ts), 0) : EINVAL;
	if (evs_current() && known)
		return -evs_mutex_foreign_lock(m, evs_abs_deadline(clk, ts));
	return REAL(pthread_mutex_clocklock)(m, clk, ts);
}

EVS_HOOK int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *ts)
{
	if (off())
		return REAL(pthread_mutex_timedlock)(m, ts);
	if (evs_mutex_is_ours(m))
		return -evs_mutex_lock(m, evs_abs_deadline(CLOCK_REALTIME, ts), 0);
	if (evs_current())
		return -evs_mutex_foreign_lock(m, evs_abs_deadline(CLOCK_REALTIME, ts));
	return REAL(pthread_mutex_timedlock)(m, ts);
}

EVS_HOOK int pthread_mutex_unlock(pthread_mutex_t *m)
{
	if (off())
		return REAL(pthread_mutex_unlock)(m);
	if (!evs_mutex_is_ours(m))
		return -evs_mutex_foreign_release(m);
	return -evs_mutex_unlock(m);
}

/* --- condition variables ---------------------------------------------- */

EVS_HOOK int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a)
{
	int ps = 0;
	if (a)
		pthread_condattr_getpshared(a, &ps);
	if (off() || ps)
		return REAL(pthread_cond_init)(c, a);
	return -evs_cond_init(c, a);
}

EVS_HOOK int pthread_cond_destroy(pthread_cond_t *c)
{
	if (off() || !evs_cond_is_ours(c))
		return REAL(pthread_cond_destroy)(c);
	return 0;
}

static int cond_wait(pthread_cond_t *c, pthread_mutex_t *m, int64_t deadline)
{
	int r = evs_cond_wait(c, m, deadline);
	if (r == -ECANCELED) {  /* a cancellation point: the mutex is held again */
		evs_task_testcancel();
		r = 0;
	}
	return -r;
}

EVS_HOOK int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	if (off())
		return REAL(pthread_cond_wait)(c, m);
	if (!evs_cond_is_ours(c))
		return evs_cond_glibc_wait(c, m, 0, CLOCK_REALTIME, NULL);
	return cond_wait(c, m, INT64_MAX);
}

EVS_HOOK int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				    const struct timespec *ts)
{
	if (off())
		return REAL(pthread_cond_timedwait)(c, m, ts);
	if (!evs_cond_is_ours(c))
		return evs_cond_glibc_wait(c, m, 1, CLOCK_REALTIME, ts);
	return cond_wait(c, m, evs_abs_deadline(evs_cond_clock(c), ts));
}

EVS_HOOK int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
				    const struct timespec *ts)
{
	if (off())
		return REAL(pthread_cond_clockwait)(c, m, clk, ts);
	if (!evs_cond_is_ours(c))
		return evs_cond_glibc_wait(c, m, 2, clk, ts);
	if (clk != CLOCK_MONOTONIC && clk != CLOCK_REALTIME)
		return EINVAL;
	return cond_wait(c, m, evs_abs_deadline(clk, ts));
}

EVS_HOOK int pthread_cond_signal(pthread_cond_t *c)
{
	if (off() || !evs_cond_is_ours(c))
		return REAL(pthread_cond_signal)(c);
	return -evs_cond_wake(c, 0);
}

EVS_HOOK int pthread_cond_broadcast(pthread_cond_t *c)
{
	if (off() || !evs_cond_is_ours(c))
		return REAL(pthread_cond_broadcast)(c);
	return -evs_cond_wake(c, 1);
}

/* --- rwlocks ---------------------------------------------------------- */

EVS_HOOK int pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *a)
{
	int ps = 0;
	if (a)
		pthread_rwlockattr_getpshared(a, &ps);
	if (off() || ps)
		return REAL(pthread_rwlock_init)(l, a);
	return -evs_rwlock_init(l, a);
}

EVS_HOOK int pthread_rwlock_destroy(pthread_rwlock_t *l)
{
	if (off() || !evs_rwlock_is_ours(l))
		return REAL(pthread_rwlock_destroy)(l);
	return 0;
}

/* One left to glibc (process-shared) is locked with glibc's own calls; a
 * task that waits makes glibc's wait on a pool thread while it parks
 * (sync/rwlock.c). */
#define RW(name, fn, dl, try, write)                                        \
	EVS_HOOK int name(pthread_rwlock_t *l)                              \
	{                                                                   \
		if (off())                                                  \
			return REAL(name)(l);                               \
		if (!evs_rwlock_is_ours(l))                                 \
			return evs_rwlock_glibc_lock(l, write, try ? 3 : 0, \
						     CLOCK_REALTIME, NULL); \
		return -fn(l, dl, try);                                     \
	}
RW(pthread_rwlock_rdlock, evs_rwlock_rdlock, INT64_MAX, 0, 0)
RW(pthread_rwlock_tryrdlock, evs_rwlock_rdlock, INT64_MAX, 1, 0)
RW(pthread_rwlock_wrlock, evs_rwlock_wrlock, INT64_MAX, 0, 1)
RW(pthread_rwlock_trywrlock, evs_rwlock_wrlock, INT64_MAX, 1, 1)
#undef RW

/* glibc checks the clock and the timeout before anything else: EINVAL
 * even for a lock that is free, or held by the caller (EDEADLK after).
 * No timeout (NULL): no check, a wait without end, as glibc's. */
static int timed_rw(int (*fn)(pthread_rwlock_t *, int64_t, int), pthread_rwlock_t *l,
		    clockid_t clk, const struct timespec *ts)
{
	/* glibc declares the timeout nonnull, and the compiler would drop
	 * the test: what its code does with NULL is what is kept */
	__asm__("" : "+r"(ts));
	int64_t deadline = evs_abs_deadline(clk, ts);
	if (ts && ((clk != CLOCK_MONOTONIC && clk != CLOCK_REALTIME) || deadline < 0))
		return EINVAL;
	return -fn(l, deadline, 0);
}

EVS_HOOK int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *ts)
{
	if (off())
		return REAL(pthread_rwlock_timedrdlock)(l, ts);
	if (!evs_rwlock_is_ours(l))
		return evs_rwlock_glibc_lock(l, 0, 1, CLOCK_REALTIME, ts);
	return timed_rw(evs_rwlock_rdlock, l, CLOCK_REALTIME, ts);
}

EVS_HOOK int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clk, const struct timespec *ts)
{
	if (off())
		return REAL(pthread_rwlock_clockrdlock)(l, clk, ts);
	if (!evs_rwlock_is_ours(l))
		return evs_rwlock_glibc_lock(l, 0, 2, clk, ts);
	return timed_rw(evs_rwlock_rdlock, l, clk, ts);
}

EVS_HOOK int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *ts)
{
	if (off())
		return REAL(pthread_rwlock_timedwrlock)(l, ts);
	if (!evs_rwlock_is_ours(l))
		return evs_rwlock_glibc_lock(l, 1, 1, CLOCK_REALTIME, ts);
	return timed_rw(evs_rwlock_wrlock, l, CLOCK_REALTIME, ts);
}

EVS_HOOK int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clk, const struct timespec *ts)
{
	if (off())
		return REAL(pthread_rwlock_clockwrlock)(l, clk, ts);
	if (!evs_rwlock_is_ours(l))
		return evs_rwlock_glibc_lock(l, 1, 2, clk, ts);
	return timed_rw(evs_rwlock_wrlock, l, clk, ts);
}

EVS_HOOK int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
	if (off())
		return REAL(pthread_rwlock_unlock)(l);
	if (!evs_rwlock_is_ours(l))
		return evs_rwlock_glibc_unlock(l);
	return -evs_rwlock_unlock(l);
}

/* --- barriers, once --------------------------------------------------- */

EVS_HOOK int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *a, unsigned n)
{
	int ps = 0;
	if (a)
		pthread_barrierattr_getpshared(a, &ps);
	if (off() || ps)
		return REAL(pthread_barrier_init)(b, a, n);
	return -evs_barrier_init(b, n);
}

EVS_HOOK int pthread_barrier_destroy(pthread_barrier_t *b)
{
	if (off() || !evs_barrier_is_ours(b))
		return REAL(pthread_barrier_destroy)(b);
	return 0;
}

EVS_HOOK int pthread_barrier_wait(pthread_barrier_t *b)
{
	if (off())
		return REAL(pthread_barrier_wait)(b);
	if (!evs_barrier_is_ours(b))
		return evs_barrier_glibc_wait(b);
	return evs_barrier_wait(b) ? PTHREAD_BARRIER_SERIAL_THREAD : 0;
}

EVS_HOOK int pthread_once(pthread_once_t *o, void (*fn)(void))
{
	if (off())
		return REAL(pthread_once)(o, fn);
	return -evs_once(o, fn);
}

/* --- spinlocks -------------------------------------------------------- */

/* glibc's x86-64 encoding, kept so objects stay interchangeable: 1 free
 * (pthread_spin_init), 0 or less held (it locks with `lock decl`).
 * A task spinning on a lock held by a task of its own worker would spin
 * forever: the holder cannot run. So a task spins a little, then yields
 * its worker and tries again; a thread the runtime does not own spins as
 * glibc does. */
#define SPIN_FREE 1
#define SPIN_HELD 0
#define EVS_SPINS_BEFORE_YIELD 100

static int spin_try(pthread_spinlock_t *l)
{
	int expect = SPIN_FREE;
	return __atomic_compare_exchange_n(l, &expect, SPIN_HELD, 0, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

EVS_HOOK int pthread_spin_lock(pthread_spinlock_t *l)
{
	if (off())
		return REAL(pthread_spin_lock)(l);
	for (unsigned n = 1; !spin_try(l); n++) {
		if (n % EVS_SPINS_BEFORE_YIELD == 0 && evs_current())
			evs_task_yield();
		else
			evs_cpu_relax();
	}
	return 0;
}

EVS_HOOK int pthread_spin_trylock(pthread_spinlock_t *l)
{
	if (off())
		return REAL(pthread_spin_trylock)(l);
	return spin_try(l) ? 0 : EBUSY;
}

EVS_HOOK int pthread_spin_unlock(pthread_spinlock_t *l)
{
	if (off())
		return REAL(pthread_spin_unlock)(l);
	__atomic_store_n(l, SPIN_FREE, __ATOMIC_RELEASE);
	return 0;
}

/* --- semaphores ------------------------------------------------------- */

EVS_HOOK int sem_init(sem_t *s, int pshared, unsigned v)
{
	if (off() || pshared)
		return REAL(sem_init)(s, pshared, v);
	return (int)evs_ret(evs_sem_init(s, v));
}

EVS_HOOK int sem_destroy(sem_t *s)
{
	if (off() || !evs_sem_is_ours(s))
		return REAL(sem_destroy)(s);
	return 0;
}

static int sem_wait_common(sem_t *s, int64_t deadline, int try_only)
{
	for (;;) {
		int r = evs_sem_wait(s, deadline, try_only);
		if (r == -ECANCELED) {  /* a cancellation point */
			evs_task_testcancel();
			continue;
		}
		return (int)evs_ret(r);
	}
}

/* A process-shared semaphore (sem_init with pshared, sem_open) is glibc's
 * for a caller that is not a task, and for a trywait; a task's wait parks
 * (sync/sem.c), and every post makes both kinds of wake-up. */
static inline int glibc_wait(sem_t *s)
{
	return off() || (!evs_sem_is_ours(s) && !evs_current());
}

EVS_HOOK int sem_wait(sem_t *s)
{
	if (glibc_wait(s))
		return REAL(sem_wait)(s);
	return sem_wait_common(s, INT64_MAX, 0);
}

EVS_HOOK int sem_trywait(sem_t *s)
{
	if (off() || !evs_sem_is_ours(s))
		return REAL(sem_trywait)(s);
	return sem_wait_common(s, INT64_MAX, 1);
}

EVS_HOOK int sem_timedwait(sem_t *s, const struct timespec *ts)
{
	if (glibc_wait(s))
		return REAL(sem_timedwait)(s, ts);
	return sem_wait_common(s, evs_abs_deadline(CLOCK_REALTIME, ts), 0);
}

EVS_HOOK int sem_clockwait(sem_t *s, clockid_t clk, const struct timespec *ts)
{
	if (glibc_wait(s))
		return REAL(sem_clockwait)(s, clk, ts);
	if (clk != CLOCK_MONOTONIC && clk != CLOCK_REALTIME) {
		errno = EINVAL;
		return -1;
	}
	return sem_wait_common(s, evs_abs_deadline(clk, ts), 0);
}

EVS_HOOK int sem_post(sem_t *s)
{
	if (off())
		return REAL(sem_post)(s);
	return (int)evs_ret(evs_sem_post(s));
}

EVS_HOOK int sem_getvalue(sem_t *s, int *v)
{
	if (off() || !evs_sem_is_ours(s))
		return REAL(sem_getvalue)(s, v);
	*v = evs_sem_value(s);
	return 0;
}

/* --- System V message queues and semaphores (sync/sysvipc.c) ---------- */

/* msgrcv and msgsnd are cancellation points: -ECANCELED acts on the
 * cancellation and, if that returns (disabled meanwhile), waits on. */
EVS_HOOK ssize_t msgrcv(int id, void *p, size_t n, long type, int flags)
{
	if (off() || !evs_current())
		return REAL(msgrcv)(id, p, n, type, flags);
	long r;
	while ((r = evs_msgrcv(id, p, n, type, flags)) == -ECANCELED)
		evs_task_testcancel();
	return evs_ret(r);
}

EVS_HOOK int msgsnd(int id, const void *p, size_t n, int flags)
{
	if (off() || !evs_current())
		return REAL(msgsnd)(id, p, n, flags);
	long r;
	while ((r = evs_msgsnd(id, p, n, flags)) == -ECANCELED)
		evs_task_testcancel();
	return (int)evs_ret(r);
}

EVS_HOOK int semtimedop(int id, struct sembuf *ops, size_t n, const struct timespec *tmo)
{
	long r = off() || !evs_current() ? EVS_USE_REAL : evs_semop(id, ops, n, tmo);
	if (r == EVS_USE_REAL)
		return REAL(semtimedop)(id, ops, n, tmo);
	return (int)evs_ret(r);
}

EVS_HOOK int semop(int id, struct sembuf *ops, size_t n)
{
	long r = off() || !evs_current() ? EVS_USE_REAL : evs_semop(id, ops, n, NULL);
	if (r == EVS_USE_REAL)
		return REAL(semop)(id, ops, n);
	return (int)evs_ret(r);
}
