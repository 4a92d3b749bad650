#include "../evs.h"
#include "timer.h"
#include "sched.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

static void swap_at(struct evs_timers *h, int a, int b)
{
	struct evs_timer *x = h->heap[a];
	h->heap[a] = h->heap[b];
	h->heap[b] = x;
	h->heap[a]->idx = a;
	h->heap[b]->idx = b;
}

static void up(struct evs_timers *h, int i)
{
	while (i > 0) {
		int p = (i - 1) / 2;
		if (h->heap[p]->when <= h->heap[i]->when)
			break;
		swap_at(h, p, i);
		i = p;
	}
}

static void down(struct evs_timers *h, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && h->heap[l]->when < h->heap[m]->when)
			m = l;
		if (r < h->n && h->heap[r]->when < h->heap[m]->when)
			m = r;
		if (m == i)
			return;
		swap_at(h, i, m);
		i = m;
	}
}

#define EVS_TIMER_MIN_CAP 64

/* The monitor reads this from its own thread (rt/monitor.c): it may not
 * look at the heap itself, which the owner may be reallocating. */
static void publish(struct evs_timers *h)
{
	__atomic_store_n(&h->next_due, h->n ? h->heap[0]->when : INT64_MAX, __ATOMIC_RELAXED);
}

int evs_timer_add(struct evs_timers *h, struct evs_timer *tm)
{
	if (h->n == h->cap) {
		int cap = h->cap ? h->cap * 2 : EVS_TIMER_MIN_CAP;
		void *p = realloc(h->heap, (size_t)cap * sizeof(*h->heap));
		if (!p)
			return -ENOMEM;
		h->heap = p;
		h->cap = cap;
	}
	tm->idx = h->n;
	h->heap[h->n++] = tm;
	up(h, tm->idx);
	publish(h);
	return 0;
}

void evs_timer_del(struct evs_timers *h, struct evs_timer *tm)
{
	int i = tm->idx;
	if (i < 0)
		return;
	tm->idx = -1;
	h->n--;
	if (i != h->n) {
		h->heap[i] = h->heap[h->n];
		h->heap[i]->idx = i;
		up(h, i);
		down(h, h->heap[i]->idx);
	}
	publish(h);
}

int evs_timer_fire(struct evs_timers *h, int64_t now)
{
	int n = 0;
	while (h->n && h->heap[0]->when <= now) {
		struct evs_timer *tm = h->heap[0];
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
	int64_t d = (int64_t)(abs->tv_sec - now.tv_sec) * 1000000000 + (abs->tv_nsec - now.tv_nsec);
	return evs_now_ns() + (d > 0 ? d : 0);
}

int evs_ms_until(int64_t deadline)
{
	if (deadline == INT64_MAX)
		return -1;
	int64_t left = deadline - evs_now_ns();
	return left > 0 ? (int)((left + 999999) / 1000000) : 0;
}

void evs_sleep_until(int64_t deadline)
{
	struct evs_task *t = evs_current();
	struct evs_worker *w = t->w;
	struct evs_timer tm = { .when = deadline, .t = t, .idx = -1 };

	for (;;) {
		if (evs_now_ns() >= deadline) {
			/* Still give the others a turn, as a kernel sleep of
			 * zero would. */
			evs_task_yield();
			return;
		}
		tm.token = evs_task_prepare_wait(t);
		if (evs_timer_add(&w->timers, &tm) < 0) {
			/* Out of memory for the heap: nothing to wait on. */
			evs_task_wake(t, tm.token, EVS_WAKE_EVENT);
			evs_task_yield();
			continue;
		}
		int why = evs_task_park("sleep");
		evs_timer_del(&w->timers, &tm);
		if (why == EVS_WAKE_CANCEL)
			evs_task_testcancel();
		if (evs_now_ns() >= deadline)
			return;
	}
}
