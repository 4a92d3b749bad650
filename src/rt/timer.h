/* Per-worker timers: a binary min-heap of absolute CLOCK_MONOTONIC
 * deadlines. Owner-only: only the worker that owns the heap touches it, and
 * every timer node lives on the stack of a task pinned to that worker, so a
 * node is always removed by its own task (after wake-up) or popped by its
 * worker (when it fires). No locks. */
#ifndef EVS_TIMER_H
#define EVS_TIMER_H
#include <stdint.h>
#include <time.h>

struct evs_task;

struct evs_timer {
	int64_t when;            /* absolute CLOCK_MONOTONIC ns */
	struct evs_task *t;
	uint64_t token;          /* the wait it ends (task.h) */
	int idx;                 /* heap slot, -1 when not queued */
};

struct evs_timers {
	struct evs_timer **heap;
	int n, cap;
	int64_t next_due;        /* earliest deadline, published for the monitor */
};

int evs_timer_add(struct evs_timers *h, struct evs_timer *tm);  /* 0 / -ENOMEM */
void evs_timer_del(struct evs_timers *h, struct evs_timer *tm);
/* Earliest deadline, or INT64_MAX when empty. */
static inline int64_t evs_timer_next(const struct evs_timers *h)
{
	return h->n ? h->heap[0]->when : INT64_MAX;
}
/* Pop every timer due at `now` and wake its task. Returns the count. */
int evs_timer_fire(struct evs_timers *h, int64_t now);

/* Park the current task until the absolute monotonic deadline. */
void evs_sleep_until(int64_t deadline_ns);

/* An absolute time on clk as a CLOCK_MONOTONIC deadline (converted once,
 * when the wait starts: docs/differences.md); INT64_MAX for NULL, -1 when
 * the timespec is invalid (EINVAL). */
int64_t evs_abs_deadline(clockid_t clk, const struct timespec *abs);
/* Whole milliseconds until the deadline, rounded up, for calls that take
 * milliseconds: -1 for INT64_MAX (no deadline), 0 once it has passed. */
int evs_ms_until(int64_t deadline_ns);
#endif
