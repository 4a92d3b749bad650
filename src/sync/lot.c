#include "../evs.h"
#include "lot.h"
#include "../rt/kfutex.h"
#include "../rt/sched.h"
#include "../rt/task.h"
#include "../rt/timer.h"
#include "../list.h"
#include "../libc/sys.h"
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <time.h>

/* Buckets: enough that unrelated objects rarely share a lock. */
#define EVS_LOT_BUCKETS 512

struct lot_waiter {
	const void *addr;
	struct evs_task *t;      /* NULL: a thread, waiting on futex */
	uint64_t token;
	int futex;               /* thread waiters: 0 waiting, 1 woken */
	struct evs_link link;    /* in its bucket, under the bucket's lock */
};

static struct bucket {
	int lock;
	struct evs_queue q;
} __attribute__((aligned(64))) buckets[EVS_LOT_BUCKETS];

/* fork(): every record in the lot is a task or thread of the parent
 * (the child's one thread, the forking one, is not parked), and a bucket
 * lock may have been held by one of them: the child starts with an empty
 * lot. Else a wake in the child (a post of a process-shared semaphore)
 * found the parent's waiters there, ran copies of their tasks in the
 * child, and did not reach the parent through the kernel. */
static uint64_t pages_used;  /* atomic: a bit per page of buckets ever handed out */
#define BUCKETS_PER_PAGE (4096 / sizeof(struct bucket))

static void lot_atfork_child(void)
{
	/* Only the pages of buckets ever used are looked at, and only a bucket
	 * with something to undo is written: each first touch of a page the
	 * child shares with its parent, or that the parent never touched, is
	 * a page fault (rt/fdtab.c, evs_fdtab_atfork_child). */
	for (uint64_t pages = pages_used; pages; pages &= pages - 1) {
		size_t first = (size_t)__builtin_ctzll(pages) * BUCKETS_PER_PAGE;
		for (size_t i = first; i < first + BUCKETS_PER_PAGE && i < EVS_LOT_BUCKETS; i++) {
			if (!buckets[i].lock && !buckets[i].q.head && !buckets[i].q.tail)
				continue;
			buckets[i].lock = 0;
			buckets[i].q.head = buckets[i].q.tail = NULL;
		}
	}
}

/* After rt/init.c's (101): its child handler, which resets the workers,
 * runs first. */
__attribute__((constructor(102))) static void lot_init(void)
{
	pthread_atfork(NULL, NULL, lot_atfork_child);
}

static struct bucket *bucket_of(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	a ^= a >> 17;
	a *= 0x9E3779B97F4A7C15ULL;
	size_t i = (a >> 32) % EVS_LOT_BUCKETS;
	uint64_t bit = 1ULL << (i / BUCKETS_PER_PAGE);
	if (EVS_UNLIKELY(!(__atomic_load_n(&pages_used, __ATOMIC_RELAXED) & bit)))
		__atomic_or_fetch(&pages_used, bit, __ATOMIC_RELAXED);
	return &buckets[i];
}

static long park_thread(struct lot_waiter *w, int64_t deadline)
{
	for (;;) {
		if (__atomic_load_n(&w->futex, __ATOMIC_ACQUIRE))
			return 0;
		struct timespec ts, *tsp = NULL;
		if (deadline != INT64_MAX) {
			ts.tv_sec = deadline / 1000000000;
			ts.tv_nsec = deadline % 1000000000;
			tsp = &ts;  /* FUTEX_WAIT_BITSET: absolute, CLOCK_MONOTONIC */
		}
		long r = evs_sys6(SYS_futex, &w->futex, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
				  0, tsp, 0, FUTEX_BITSET_MATCH_ANY);
		if (r == -ETIMEDOUT)
			return -ETIME;
	}
}

/* FUTEX_WAIT_BITSET itself, for the process's only task: park's answers
 * (0 woken, -EAGAIN the word differs, -ETIME, -ERESTART when a signal's
 * handlers all asked for restarts, -EINTR). */
static long lone_kernel_wait(const void *addr, uint32_t expect, int64_t deadline,
			     const struct evs_lot_kernel *kw)
{
	struct timespec ts, *tsp = NULL;
	if (deadline != INT64_MAX) {
		ts.tv_sec = deadline / 1000000000;
		ts.tv_nsec = deadline % 1000000000;
		tsp = &ts;  /* absolute, CLOCK_MONOTONIC */
	}
	long r = evs_lone_syscall(SYS_futex, (long)addr,
				  FUTEX_WAIT_BITSET | (kw->shared ? 0 : FUTEX_PRIVATE_FLAG), expect,
				  (long)tsp, 0, kw->mask);
	if (r == -ETIMEDOUT)
		return -ETIME;
	if (r == -EINTR)
		return (evs_sig_run() & EVS_SIG_NORESTART) ? -EINTR : -ERESTART;
	return r;
}

static long park(const void *addr, uint32_t expect, int64_t deadline, int64_t look, int why,
		 int cancel_point, const struct evs_lot_kernel *kw)
{
	struct bucket *b = bucket_of(addr);
	struct evs_task *t = evs_current();
	struct lot_waiter w = { .addr = addr, .t = t };

	evs_spin_lock(&b->lock);
	if (__atomic_load_n((const uint32_t *)addr, __ATOMIC_SEQ_CST) != expect) {
		evs_spin_unlock(&b->lock);
		return -EAGAIN;
	}
	if (t && kw && evs_lone_may_wait(deadline)) {
		/* The process's only task (rt/sched.h): nobody here can wake
		 * it through the lot, so the kernel's own wait is the whole
		 * wait. */
		evs_spin_unlock(&b->lock);
		return lone_kernel_wait(addr, expect, deadline, kw);
	}
	/* Not a cancellation point (a mutex): a cancel request waits for the
	 * next point instead of ending this wait (unless the task's type is
	 * asynchronous, where the caller allows it). */
	if (t)
		w.token = evs_wait_open(cancel_point == EVS_LOT_ASYNC_CANCEL ? EVS_WAIT_ASYNCCANCEL :
					cancel_point ? 0 : EVS_WAIT_NOCANCEL);
	evs_queue_push(&b->q, &w.link);
	evs_spin_unlock(&b->lock);

	long ret = 0;
	struct evs_kfutex kf;
	bool in_kernel = false;
	if (t) {
		/* After the record is queued: a wake through the lot from here
		 * on finds it, one through the kernel finds the operation. */
		in_kernel = kw && evs_kfutex_start(&kf, addr, expect, kw->mask, kw->shared, w.token);
		int r = evs_park(w.token, in_kernel || look > deadline ? deadline : look, why,
				 (intptr_t)addr);
		if (r == EVS_WAKE_TIMEOUT)
			ret = -ETIME;
		else if (r == EVS_WAKE_CANCEL)
			ret = -ECANCELED;
		else if (r == EVS_WAKE_SIGNAL)
			ret = -EINTR;  /* the handler runs once the record is gone */
	} else {
		ret = park_thread(&w, look > deadline ? deadline : look);
	}
	/* Take the lock before the record goes away: a waker uses the
	 * record only while it holds the lock. */
	evs_spin_lock(&b->lock);
	if (w.link.linked)
		evs_queue_del(&b->q, &w.link);
	evs_spin_unlock(&b->lock);
	if (in_kernel) {
		bool by_kernel;
		if (evs_kfutex_finish(&kf, &by_kernel) == 0 && !by_kernel) {
			/* The kernel's wake came, but the park ended otherwise.
			 * At the deadline: the wake wins, as in the kernel's own
			 * wait. Else (the lot's wake, a signal, a cancellation)
			 * it would be spent on nobody: pass it on. */
			if (ret == -ETIME)
				ret = 0;
			else
				evs_sys6(SYS_futex, addr,
					 FUTEX_WAKE | (kw->shared ? 0 : FUTEX_PRIVATE_FLAG), 1, 0, 0, 0);
		}
	}
	if (ret == -EINTR && !(evs_sig_run() & EVS_SIG_NORESTART))
		ret = -ERESTART;  /* every handler asked for restarts */
	return ret;
}

long evs_lot_park(const void *addr, uint32_t expect, int64_t deadline, int why,
		  int cancel_point)
{
	return park(addr, expect, deadline, deadline, why, cancel_point, NULL);
}

long evs_lot_park_kernel(const void *addr, uint32_t expect, int64_t deadline, int64_t look,
			 int why, int cancel_point, const struct evs_lot_kernel *kw)
{
	return park(addr, expect, deadline, look, why, cancel_point, kw);
}

int evs_lot_unpark(const void *addr, int n)
{
	struct bucket *b = bucket_of(addr);
	int woke = 0;
	while (n < 0 || woke < n) {
		evs_spin_lock(&b->lock);
		struct lot_waiter *w = NULL;
		for (struct evs_link *l = b->q.head; l && !w; l = l->next) {
			struct lot_waiter *c = evs_queue_entry(l, struct lot_waiter, link);
			if (c->addr == addr)
				w = c;
		}
		if (!w) {
			evs_spin_unlock(&b->lock);
			break;
		}
		/* The record lives on its owner's stack: use it only while
		 * the lock is held (a thread waiter takes the lock before it
		 * leaves; a task's record is copied here). */
		evs_queue_del(&b->q, &w->link);
		struct evs_task *t = w->t;
		uint64_t tok = w->token;
		int ok = 1;
		if (!t) {
			__atomic_store_n(&w->futex, 1, __ATOMIC_RELEASE);
			evs_sys6(SYS_futex, &w->futex, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, 0, 0, 0);
		}
		evs_spin_unlock(&b->lock);
		if (t)
			ok = evs_task_wake(t, tok, EVS_WAKE_EVENT);
		woke += ok;
	}
	return woke;
}

int evs_sync_self_id(void)
{
	static __thread int tid;
	struct evs_task *t = evs_current();
	if (t)
		return (int)(0x40000000u | (uint32_t)(t->id & 0x3fffffff));
	if (!tid)
		tid = (int)evs_sys3(SYS_gettid, 0, 0, 0);
	return tid;
}
