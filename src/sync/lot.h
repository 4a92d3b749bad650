/* The parking lot: a user-space futex keyed by address, for tasks and
 * threads alike. Every synchronization object keeps only its state words
 * (in glibc's own layout) and parks its waiters here.
 *
 * evs_lot_park(addr, expect, deadline): under the bucket lock, if the
 * 32-bit word at addr still equals expect, queue the caller and sleep: a
 * task parks (its worker runs other tasks), a thread the runtime does not
 * own waits on a futex in its waiter record. The check and the queueing
 * happen under the same lock that evs_lot_unpark takes, so a waker that
 * changes the word and then unparks can never slip between them (the
 * futex contract).
 *
 * Waiter records live on the waiter's stack and are removed by the waiter
 * itself when it wakes for any reason (timeout, cancellation). Unpark skips
 * records whose owner already woke for another reason, so a wake-up is
 * never spent on a waiter that is leaving. */
#ifndef EVS_LOT_H
#define EVS_LOT_H
#include "../obs/stats.h"
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* What a cancellation does to a task's park (`cancel_point` below): it
 * never ends it (false), ends it (true: a cancellation point), or ends it
 * only when the task's type is PTHREAD_CANCEL_ASYNCHRONOUS (a mutex,
 * which glibc's cancellation signal leaves at once; the caller then acts
 * on it). */
#define EVS_LOT_ASYNC_CANCEL 2

/* Returns 0 when woken (or the word no longer matched: -EAGAIN), -ETIME
 * when the absolute CLOCK_MONOTONIC deadline passed, -ECANCELED when a
 * task was asked to cancel (only if `cancel_point`), -EINTR when a signal
 * came for the task and a handler installed without SA_RESTART ran, and
 * -ERESTART when the handlers that ran all had SA_RESTART (they have run
 * by then either way; the caller decides whether its call goes on).
 * `why` (enum evs_wait: mutex, cond, sem...) is what the task dump
 * shows. */
long evs_lot_park(const void *addr, uint32_t expect, int64_t deadline, int why,
		  int cancel_point);
/* The same for a word that other processes, or code the runtime does not
 * see, wake through the kernel: a task's wait is made in the kernel too
 * (rt/kfutex.h: `shared` says whether other processes' wakes reach it,
 * `mask` is its FUTEX_WAIT_BITSET bits), so such a wake ends it at once.
 * Where that cannot be done (a thread the runtime does not own, a kernel
 * before 6.7, no io_uring), the park ends at `look` with -ETIME too, so
 * the caller looks at the word (EVS_LOT_POLL_*). */
struct evs_lot_kernel {
	bool shared;
	uint32_t mask;
};
long evs_lot_park_kernel(const void *addr, uint32_t expect, int64_t deadline, int64_t look,
			 int why, int cancel_point, const struct evs_lot_kernel *kw);
/* Wake up to n waiters of addr (n < 0: all); returns how many woke. */
int evs_lot_unpark(const void *addr, int n);

/* A waiter on a word that another process (or code the runtime does not
 * see) may change and wake through the kernel alone parks in slices: it
 * looks at the word after EVS_LOT_POLL_MIN_NS, then after twice as long
 * each time, up to EVS_LOT_POLL_MAX_NS (futex.c, sem.c). */
#define EVS_LOT_POLL_MIN_NS (1 * 1000000LL)
#define EVS_LOT_POLL_MAX_NS (20 * 1000000LL)

/* Owner identity for mutexes and rwlocks: unique per task and per thread
 * the runtime does not own (kernel tids stay below 2^22; task ids are
 * tagged with bit 30). Never 0. */
int evs_sync_self_id(void);

#endif
