/* Mutexes: glibc's field layout, our protocol.
 *
 *   lock   @0   0 free, 1 held, 2 held and someone may be parked (the
 *               futex mutex of Drepper's "Futexes are tricky", with the
 *               parking lot as the futex)
 *   count  @4   recursion depth (recursive kind)
 *   owner  @8   evs_sync_self_id() of the holder; 0 when free
 *   nusers @12  holders, as glibc counts them (destroy says EBUSY)
 *   kind   @16  glibc's: type in the low bits; robust (16), priority
 *               inheritance (32) or protection (64) and process-shared
 *               (128) objects are glibc's business, passed through.
 * Uncontended lock and unlock: one atomic each. A contended unlock wakes
 * one parked waiter: for two tasks that costs a task switch, no system
 * call (a cross-worker wake costs an eventfd write only if that worker
 * sleeps).
 *
 * The mutexes left to glibc (robust, priority-inheritance or -protection,
 * process-shared) are locked by a task with glibc's trylock: while it
 * says EBUSY the task parks on the lock word, woken by an unlock in this
 * process (the hook's, evs_mutex_foreign_release) or after a slice
 * (EVS_LOT_POLL_MIN_NS doubling to _MAX_NS). glibc's own lock would wait
 * in the kernel and hold the worker, and a holder on that worker, parked
 * in a call, would never run to unlock (LMDB's writer lock in slapd: a
 * hang for good).
 * An unlock in another process (or one no hook sees) wakes only the
 * kernel's waiters, and only when the word says there are some. So for
 * the kinds whose word follows glibc's plain or robust protocol (not PI,
 * not PP), the waiter marks the word as glibc's own waiter does (2 for a
 * plain one, FUTEX_WAITERS on a robust one's owner id) and parks with a
 * kernel wait on the marked value as well (lot.h, shared: glibc makes
 * these futex calls without the private flag): the unlock wakes it at
 * once, and a process's only task waits in the kernel itself. Having
 * waited, it keeps the mark on the word once it holds the lock (glibc's
 * waiter does the same), so its own unlock wakes the next waiter. */
#include "../evs.h"
#include "sync.h"
#include "lot.h"
#include "../rt/sched.h"
#include "../rt/task.h"
#include "../rt/timer.h"
#include "../libc/real.h"
#include "../libc/sys.h"
#include <errno.h>
#include <linux/futex.h>
#include <string.h>

struct mtx {
	uint32_t lock;
	unsigned count;
	int owner;
	unsigned nusers;
	int kind;
};
_Static_assert(offsetof(struct mtx, kind) == offsetof(pthread_mutex_t, __data.__kind),
	       "kind where glibc's initializers put it");
_Static_assert(sizeof(struct mtx) <= sizeof(pthread_mutex_t), "fits in glibc's object");

#define KIND_TYPE 3
#define KIND_FOREIGN (16 | 32 | 64 | 128)  /* robust, PI, PP, pshared */

int evs_mutex_is_ours(const pthread_mutex_t *m)
{
	return !(m->__data.__kind & KIND_FOREIGN);
}

int evs_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
	int type = PTHREAD_MUTEX_NORMAL;
	if (a && pthread_mutexattr_gettype(a, &type))
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	((struct mtx *)m)->kind = type;
	return 0;
}

static int acquired(struct mtx *x, int id)
{
	x->owner = id;
	x->count = 1;
	x->nusers++;
	return 0;
}

/* `cancel`: EVS_LOT_ASYNC_CANCEL for the program's own lock (a task of
 * the asynchronous type is cancelled while it waits, as natively: uWSGI
 * cancels threads waiting for its accept mutex), false for the relock of
 * a condition wait (its cleanup handlers must find the mutex held). */
static int lock(pthread_mutex_t *m, int64_t deadline, int try_only, int cancel)
{
	struct mtx *x = (struct mtx *)m;
	int id = evs_sync_self_id(), type = x->kind & KIND_TYPE;
	if (type != PTHREAD_MUTEX_NORMAL && type != PTHREAD_MUTEX_ADAPTIVE_NP &&
	    __atomic_load_n(&x->owner, __ATOMIC_RELAXED) == id) {
		if (type == PTHREAD_MUTEX_ERRORCHECK)
			return try_only ? -EBUSY : -EDEADLK;
		if (x->count == UINT32_MAX)
			return -EAGAIN;
		x->count++;
		return 0;
	}
	uint32_t zero = 0;
	if (__atomic_compare_exchange_n(&x->lock, &zero, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return acquired(x, id);
	if (try_only)
		return -EBUSY;
	if (deadline < 0)
		return -EINVAL;
	while (__atomic_exchange_n(&x->lock, 2, __ATOMIC_ACQUIRE) != 0) {
		long r = evs_lot_park(&x->lock, 2, deadline, EVS_WAIT_mutex, cancel);
		if (r == -ETIME)
			return -ETIMEDOUT;
		if (r == -ECANCELED)  /* asynchronous type: gone, the lock not taken */
			evs_task_testcancel();
	}
	return acquired(x, id);
}

int evs_mutex_lock(pthread_mutex_t *m, int64_t deadline, int try_only)
{
	return lock(m, deadline, try_only, EVS_LOT_ASYNC_CANCEL);
}

int evs_mutex_unlock(pthread_mutex_t *m)
{
	struct mtx *x = (struct mtx *)m;
	int type = x->kind & KIND_TYPE;
	if (type == PTHREAD_MUTEX_ERRORCHECK || type == PTHREAD_MUTEX_RECURSIVE) {
		if (__atomic_load_n(&x->owner, __ATOMIC_RELAXED) != evs_sync_self_id())
			return -EPERM;
		if (type == PTHREAD_MUTEX_RECURSIVE && --x->count)
			return 0;
	}
	x->owner = 0;
	x->nusers--;
	if (__atomic_exchange_n(&x->lock, 0, __ATOMIC_RELEASE) == 2)
		evs_lot_unpark(&x->lock, 1);
	return 0;
}

int evs_mutex_release(pthread_mutex_t *m, unsigned *count)
{
	struct mtx *x = (struct mtx *)m;
	int type = x->kind & KIND_TYPE;
	if ((type == PTHREAD_MUTEX_ERRORCHECK || type == PTHREAD_MUTEX_RECURSIVE) &&
	    __atomic_load_n(&x->owner, __ATOMIC_RELAXED) != evs_sync_self_id())
		return -EPERM;
	*count = x->count;
	x->count = 1;
	return evs_mutex_unlock(m);
}

void evs_mutex_reacquire(pthread_mutex_t *m, unsigned count)
{
	lock(m, INT64_MAX, 0, false);
	((struct mtx *)m)->count = count;
}

int evs_mutex_destroy(pthread_mutex_t *m)
{
	struct mtx *x = (struct mtx *)m;
	if (x->nusers != 0 || __atomic_load_n(&x->lock, __ATOMIC_RELAXED))
		return -EBUSY;
	x->kind = -1;  /* as glibc: a destroyed mutex is invalid */
	return 0;
}

#define HELD_MAX ((int)(sizeof(((struct evs_task *)0)->glibc_held) / sizeof(void *)))

/* A task holding a mutex of glibc's stays on its kernel thread, which
 * glibc records as the owner and which alone may unlock it (rt/sched.c:
 * movable); which ones it holds is recorded (the first HELD_MAX), for
 * task_holds below. */
void evs_mutex_foreign_held(pthread_mutex_t *m, int r)
{
	struct evs_task *t = evs_current();
	if (!t || (r != 0 && r != EOWNERDEAD))
		return;
	if (t->glibc_locks < HELD_MAX && !t->glibc_inexact)
		t->glibc_held[t->glibc_locks] = m;
	else
		t->glibc_inexact = true;
	t->glibc_locks++;
}

static void foreign_let_go(pthread_mutex_t *m)
{
	struct evs_task *t = evs_current();
	if (!t || t->glibc_locks <= 0)
		return;
	int n = t->glibc_locks--;
	if (!t->glibc_inexact) {
		for (int i = 0; i < n; i++)
			if (t->glibc_held[i] == m) {
				t->glibc_held[i] = t->glibc_held[n - 1];
				break;
			}
	} else if (t->glibc_locks == 0) {
		t->glibc_inexact = false;
	}
}

void evs_glibc_hold(const void *obj)
{
	evs_mutex_foreign_held((pthread_mutex_t *)obj, 0);
}

void evs_glibc_let_go(const void *obj)
{
	foreign_let_go((pthread_mutex_t *)obj);
}

/* Does the calling task hold m (taken through the hooks)? 1 yes, 0 no,
 * -1 cannot tell (it took more than the record holds). glibc records the
 * worker's kernel thread as the owner of what its tasks lock: its own
 * owner checks would take one task for another. */
static int task_holds(pthread_mutex_t *m)
{
	struct evs_task *t = evs_current();
	if (!t)
		return -1;
	if (t->glibc_inexact)
		return -1;
	for (int i = 0; i < t->glibc_locks; i++)
		if (t->glibc_held[i] == m)
			return 1;
	return 0;
}

/* The word's "locked, with waiters" form of v for glibc's unlock (which
 * then wakes the kernel's waiters), 0 when the kind has none we may set
 * (PI, PP) or v is not a locked word of the kind. */
static uint32_t waiters_mark(int kind, uint32_t v)
{
	if (kind & (32 | 64))
		return 0;
	if (kind & 16)  /* robust: the owner's id, FUTEX_WAITERS, FUTEX_OWNER_DIED */
		return (v & FUTEX_TID_MASK) && !(v & FUTEX_OWNER_DIED) ? v | FUTEX_WAITERS : 0;
	return v ? 2 : 0;  /* plain: 0 free, 1 locked, 2 locked with waiters */
}

/* glibc's trylock, and the holder recorded. Of a robust error-checking
 * mutex glibc's trylock says EDEADLK when the owner is the caller's
 * kernel thread: for a task that does not hold it, that is another task
 * of its worker, and the answer is EBUSY. */
static int foreign_trylock(pthread_mutex_t *m)
{
	int r = REAL(pthread_mutex_trylock)(m);
	if (r == EDEADLK && task_holds(m) == 0)
		r = EBUSY;
	return r;
}

int evs_mutex_foreign_trylock(pthread_mutex_t *m)
{
	int r = foreign_trylock(m);
	evs_mutex_foreign_held(m, r);  /* a task that holds it stays put */
	return r;
}

/* `cancel` as for lock() above: uWSGI's --thunder-lock is a robust,
 * process-shared mutex its threads wait for with the asynchronous type. */
static int foreign_lock(pthread_mutex_t *m, int64_t deadline, int cancel)
{
	uint32_t *word = (uint32_t *)&m->__data.__lock;
	int kind = m->__data.__kind;
	const struct evs_lot_kernel kw = { .shared = true, .mask = FUTEX_BITSET_MATCH_ANY };
	int64_t step = EVS_LOT_POLL_MIN_NS;
	bool waited = false;
	for (;;) {
		/* read before the try: an unlock after a failed try changes
		 * it, and the park below then returns at once */
		uint32_t seen = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		int r = foreign_trylock(m);
		if (r != EBUSY) {  /* 0, EOWNERDEAD, ENOTRECOVERABLE, EDEADLK, EAGAIN */
			if (waited && (r == 0 || r == EOWNERDEAD)) {
				uint32_t v = __atomic_load_n(word, __ATOMIC_RELAXED), mk = waiters_mark(kind, v);
				if (mk && mk != v)
					__atomic_compare_exchange_n(word, &v, mk, false, __ATOMIC_RELAXED,
								    __ATOMIC_RELAXED);
			}
			evs_mutex_foreign_held(m, r);
			return -r;
		}
		/* glibc's lock of an error-checking mutex its caller holds says
		 * EDEADLK, its trylock (but for robust, PI, PP ones) EBUSY. The
		 * owner glibc records is its descriptor's kernel thread id: the
		 * worker's (differences.md), the same for every task of it, so
		 * the task's own record decides (another task of the worker
		 * holding it got EDEADLK, went on as if it held it, and its
		 * next unlock freed the other's: pshared_cond's turns hung) */
		if ((m->__data.__kind & 3) == PTHREAD_MUTEX_ERRORCHECK &&
		    __atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED) ==
			    (int)evs_sys3(SYS_gettid, 0, 0, 0) &&
		    task_holds(m) != 0)
			return -EDEADLK;
		if (deadline < 0)
			return -EINVAL;
		int64_t now = evs_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		/* the mark, then a wait the unlock's kernel wake ends */
		uint32_t mk = waiters_mark(kind, seen);
		if (mk) {
			if (mk != seen && !__atomic_compare_exchange_n(word, &seen, mk, false,
								       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
				continue;  /* it changed: try again */
			waited = true;
			seen = mk;
		}
		/* woken, a look due, a handler ran: look again either way */
		if (evs_lot_park_kernel(word, seen, deadline, now + step, EVS_WAIT_mutex, cancel,
					mk ? &kw : NULL) == -ECANCELED)
			evs_task_testcancel();  /* asynchronous type: the mark may stay */
		if (step < EVS_LOT_POLL_MAX_NS)
			step *= 2;
	}
}

int evs_mutex_foreign_lock(pthread_mutex_t *m, int64_t deadline)
{
	return foreign_lock(m, deadline, EVS_LOT_ASYNC_CANCEL);
}

int evs_mutex_foreign_release(pthread_mutex_t *m)
{
	/* glibc's unlock of an error-checking or robust mutex checks that
	 * the caller owns it (EPERM): its owner, the worker's id, is every
	 * task's of that worker, so the task's own record decides */
	int kind = m->__data.__kind;
	if (((kind & 3) == PTHREAD_MUTEX_ERRORCHECK || (kind & 16)) && task_holds(m) == 0)
		return -EPERM;
	int r = REAL(pthread_mutex_unlock)(m);
	if (r == 0) {  /* a task of this process parked for it wakes now */
		foreign_let_go(m);
		evs_lot_unpark(&m->__data.__lock, 1);
	}
	return -r;
}

int evs_mutex_foreign_reacquire(pthread_mutex_t *m)
{
	return evs_current() ? foreign_lock(m, INT64_MAX, false) : -REAL(pthread_mutex_lock)(m);  /* counts it */
}
