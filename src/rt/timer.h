/* Per-worker timers: a pairing heap of absolute CLOCK_MONOTONIC deadlines.
 * Owner-only: only the worker that owns the heap touches it, and every
 * timer lives in the frame of evs_park (rt/task.c) of a task pinned to
 * that worker, so a timer is always removed by its own task (after its
 * wake-up) or popped by its worker (when it fires). No locks, and no
 * allocation: the heap is linked through the timers themselves, so adding
 * one cannot fail and a timed wait can never silently become untimed. */
#ifndef EVS_TIMER_H
#define EVS_TIMER_H
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct evs_task;

struct evs_timer {
	int64_t when;            /* absolute CLOCK_MONOTONIC ns */
	struct evs_task *t;
	uint64_t token;          /* the wait it ends (task.h) */
	/* Heap links: first child, next sibling, and prev: the parent for a
	 * first child, else the sibling on the left. */
	struct evs_timer *child, *next, *prev;
	bool queued;
};

struct evs_timers {
	struct evs_timer *root;
	int n;
	int64_t next_due;        /* earliest deadline, published for the monitor */
};

void evs_timer_add(struct evs_timers *h, struct evs_timer *tm);
void evs_timer_del(struct evs_timers *h, struct evs_timer *tm);  /* no-op if not queued */
/* Earliest deadline, or INT64_MAX when empty. */
static inline int64_t evs_timer_next(const struct evs_timers *h)
{
	return h->root ? h->root->when : INT64_MAX;
}
/* Pop every timer due at `now` and wake its task. Returns the count. */
int evs_timer_fire(struct evs_timers *h, int64_t now);

/* Park the current task until the absolute monotonic deadline. Returns 0,
 * -ECANCELED when a pthread_cancel ended the sleep early, or -EINTR when a
 * signal's handler ran (the sleep is over then). */
long evs_sleep_until(int64_t deadline_ns);

/* An absolute time on clk as a CLOCK_MONOTONIC deadline (converted once,
 * when the wait starts: docs/differences.md); INT64_MAX for NULL, -1 when
 * the timespec is invalid (EINVAL). */
int64_t evs_abs_deadline(clockid_t clk, const struct timespec *abs);
/* Whole milliseconds until the deadline, rounded up, for calls that take
 * milliseconds: -1 for INT64_MAX (no deadline), 0 once it has passed. */
int evs_ms_until(int64_t deadline_ns);
int64_t evs_now_ns(void);            /* CLOCK_MONOTONIC */
/* CLOCK_MONOTONIC_COARSE: the last tick's time (a few ms behind), read
 * without the TSC: for what only a person reads (how long a task has
 * waited, in the dump), on paths as hot as a park. */
int64_t evs_now_coarse_ns(void);
#endif
