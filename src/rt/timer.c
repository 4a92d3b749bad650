/* Per-worker timers (timer.h): a pairing heap. Insertion melds the new
 * timer with the root (O(1)); removing the minimum melds its children in
 * two passes (pairs left to right, then the pairs right to left: amortized
 * O(log n)); removing any other timer cuts it out of its parent's list and
 * melds its children back in. */
#include "../evs.h"
#include "timer.h"
#include "task.h"
#include "sched.h"
#include "signal.h"
#include <sys/syscall.h>
#include <time.h>
#include <errno.h>
#include <stdint.h>

int64_t evs_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t evs_now_coarse_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Two roots (either may be NULL) into one; returns the new root, which
 * has no siblings. */
static struct evs_timer *meld(struct evs_timer *a, struct evs_timer *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (b->when < a->when) {
		struct evs_timer *x = a;
		a = b;
		b = x;
	}
	b->prev = a;
	b->next = a->child;
	if (a->child)
		a->child->prev = b;
	a->child = b;
	a->next = a->prev = NULL;
	return a;
}

/* A list of siblings (first's prev is stale) into one heap. */
static struct evs_timer *merge_pairs(struct evs_timer *first)
{
	struct evs_timer *pairs = NULL;  /* the melded pairs, last first */
	while (first) {
		struct evs_timer *a = first, *b = a->next;
		first = b ? b->next : NULL;
		a->next = a->prev = NULL;
		if (b)
			b->next = b->prev = NULL;
		struct evs_timer *m = meld(a, b);
		m->next = pairs;
		pairs = m;
	}
	struct evs_timer *root = NULL;
	while (pairs) {
		struct evs_timer *n = pairs->next;
		pairs->next = NULL;
		root = meld(root, pairs);
		pairs = n;
	}
	return root;
}

/* The monitor reads this from its own thread (rt/monitor.c): it may not
 * walk the heap itself, which the owner may be changing. */
static void publish(struct evs_timers *h)
{
	__atomic_store_n(&h->next_due, evs_timer_next(h), __ATOMIC_RELAXED);
}

void evs_timer_add(struct evs_timers *h, struct evs_timer *tm)
{
	tm->child = tm->next = tm->prev = NULL;
	tm->queued = true;
	h->root = meld(h->root, tm);
	h->n++;
	publish(h);
}

void evs_timer_del(struct evs_timers *h, struct evs_timer *tm)
{
	if (!tm->queued)
		return;
	tm->queued = false;
	h->n--;
	if (tm == h->root) {
		h->root = merge_pairs(tm->child);
	} else {
		if (tm->prev->child == tm)  /* first child: prev is the parent */
			tm->prev->child = tm->next;
		else
			tm->prev->next = tm->next;
		if (tm->next)
			tm->next->prev = tm->prev;
		h->root = meld(h->root, merge_pairs(tm->child));
	}
	if (h->root)
		h->root->prev = NULL;
	publish(h);
}

int evs_timer_fire(struct evs_timers *h, int64_t now)
{
	int n = 0;
	while (h->root && h->root->when <= now) {
		struct evs_timer *tm = h->root;
		evs_timer_del(h, tm);
		evs_task_wake(tm->t, tm->token, EVS_WAKE_TIMEOUT);
		n++;
	}
	return n;
}

int64_t evs_abs_deadline(clockid_t clk, const struct timespec *abs)
{
	if (!abs)
		return INT64_MAX;
	if (abs->tv_nsec < 0 || abs->tv_nsec >= 1000000000)
		return -1;
	struct timespec now;
	clock_gettime(clk, &now);
	int64_t base = evs_now_ns(), secs = (int64_t)abs->tv_sec - (int64_t)now.tv_sec;
	if (secs > (INT64_MAX - base) / 1000000000 - 2)
		return INT64_MAX - 1;  /* centuries away: as good as never */
	int64_t d = secs * 1000000000 + (abs->tv_nsec - now.tv_nsec);
	return base + (d > 0 ? d : 0);
}

int evs_ms_until(int64_t deadline)
{
	if (deadline == INT64_MAX)
		return -1;
	int64_t left = deadline - evs_now_ns();
	return left > 0 ? (int)((left + 999999) / 1000000) : 0;
}

long evs_sleep_until(int64_t deadline)
{
	for (;;) {
		if (evs_lone_may_wait(deadline)) {
			/* the process's only task: the kernel's own sleep to the
			 * same deadline (sched.h); never restarted */
			struct timespec ts = { deadline / 1000000000, deadline % 1000000000 };
			long r = evs_lone_syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME,
						  (long)&ts, 0, 0, 0);
			if (r != -EINTR)
				return 0;
			if (evs_sig_run() & EVS_SIG_RAN)
				return -EINTR;
			continue;
		}
		if (evs_now_ns() >= deadline) {
			/* Still give the others a turn, as a kernel sleep of
			 * zero would. */
			evs_task_yield();
			return 0;
		}
		uint64_t tok = evs_wait_open(0);
		int why = evs_park(tok, deadline, EVS_WAIT_sleep, 0);
		if (why == EVS_WAKE_CANCEL)
			return -ECANCELED;
		if (why == EVS_WAKE_SIGNAL && (evs_sig_run() & EVS_SIG_RAN))
			return -EINTR;  /* sleeps are never restarted (signal(7)) */
		if (evs_now_ns() >= deadline)
			return 0;
	}
}
