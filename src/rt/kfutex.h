/* A task's futex wait made in the kernel as well, through its worker's
 * io_uring (IORING_OP_FUTEX_WAIT, Linux 6.7): for words that another
 * process, or code the runtime does not see, wakes through the kernel
 * alone (process-shared semaphores, FUTEX_WAIT without the private flag).
 * The task parks as usual (sync/lot.c); the operation's completion wakes
 * the same wait, so a kernel wake reaches it at once instead of at its
 * next look at the word.
 *
 *   evs_kfutex_start(&k, word, val, mask, shared, token)  after the lot
 *       has queued the task with `token`; false when there is no ring,
 *       the kernel lacks the operation or the ring has no room (the
 *       caller then looks at the word every so often, as before);
 *   evs_park(token, ...)
 *   evs_kfutex_finish(&k, &woke)  takes the operation back from the
 *       kernel (cancels it and waits for its answer) before the caller's
 *       record goes away; returns the operation's result: 0 when the
 *       kernel woke it. `woke`: that completion is what ended the park.
 *       When the kernel woke it and something else ended the park, that
 *       wake was spent on nobody: the caller passes it on (one more
 *       FUTEX_WAKE; a spurious wake-up is allowed to futex users, a lost
 *       one is not). */
#ifndef EVS_KFUTEX_H
#define EVS_KFUTEX_H
#include "fileio.h"
#include <stdbool.h>
#include <stdint.h>

struct evs_uring;

struct evs_kfutex {
	struct evs_opwait ow;
	struct evs_uring *u;     /* the ring it went to */
};

/* Waits in the kernel now (started, not finished): another process may
 * end them, so they are no deadlock (rt/dump.c). */
extern int evs_kfutex_waiting;

bool evs_kfutex_start(struct evs_kfutex *k, const uint32_t *word, uint32_t val, uint32_t mask,
		      bool shared, uint64_t token);
long evs_kfutex_finish(struct evs_kfutex *k, bool *woke);
#endif
