/* System V message queues and semaphores from a task.
 *
 * msgrcv, msgsnd, semop and semtimedop without IPC_NOWAIT wait in the
 * kernel, holding the worker; a signal ends them with EINTR whatever
 * SA_RESTART says (signal(7): never restarted), so the runtime's own
 * signal, sent to a worker stuck there, showed the program an EINTR it
 * never gets natively (and a retry blocked the worker again, starving
 * the task that was to send). Here the call is made with IPC_NOWAIT;
 * while it would wait, the task parks on a word of this process's (one
 * per queue or set id, hashed) that every successful call of a task here
 * bumps and wakes, and looks again after 1 ms, doubling up to 20 ms, for
 * what other processes did (they wake only the kernel's waiters). A
 * handler that runs ends the call with EINTR, as natively; msgrcv and
 * msgsnd are cancellation points. What differs: the kernel's queueing
 * order among waiters, and a change made by another process is seen up
 * to 20 ms late (docs/differences.md). */
#include "../evs.h"
#include "sysvipc.h"
#include "lot.h"
#include "../rt/timer.h"
#include "../libc/sys.h"
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>

#define EVS_IPC_WORDS 64
#define EVS_IPC_SEMOPS 64  /* larger semop arrays: the real call */

static uint32_t words[EVS_IPC_WORDS];

static uint32_t *word_of(int id)
{
	return &words[(unsigned)id % EVS_IPC_WORDS];
}

static void changed(int id)
{
	uint32_t *w = word_of(id);
	__atomic_add_fetch(w, 1, __ATOMIC_SEQ_CST);
	evs_lot_unpark(w, -1);
}

/* try: the IPC_NOWAIT attempt; `busy`: its errno while the call would
 * wait; `nowait`: the program's IPC_NOWAIT (one attempt). */
static long wait_ipc(int id, long (*try)(void *), void *arg, long busy, int64_t deadline,
		     bool cancel_point, bool nowait)
{
	uint32_t *w = word_of(id);
	int64_t step = EVS_LOT_POLL_MIN_NS;
	for (;;) {
		uint32_t seen = __atomic_load_n(w, __ATOMIC_SEQ_CST);
		long r = try(arg);
		if (r != -busy || nowait) {
			if (r >= 0)
				changed(id);
			return r;
		}
		int64_t now = evs_now_ns();
		if (now >= deadline)
			return -EAGAIN;  /* semtimedop's timeout */
		int64_t until = now + step < deadline ? now + step : deadline;
		long p = evs_lot_park(w, seen, until, EVS_WAIT_ipc, cancel_point);
		if (p == -ECANCELED)
			return p;
		if (p == -EINTR || p == -ERESTART)
			return -EINTR;  /* never restarted */
		if (step < EVS_LOT_POLL_MAX_NS)
			step *= 2;
	}
}

struct msg_call {
	int id;
	void *p;
	size_t n;
	long type;
	int flags;
};

static long try_rcv(void *a)
{
	struct msg_call *c = a;
	return evs_sys6(SYS_msgrcv, c->id, c->p, c->n, c->type, c->flags | IPC_NOWAIT, 0);
}

static long try_snd(void *a)
{
	struct msg_call *c = a;
	return evs_sys6(SYS_msgsnd, c->id, c->p, c->n, c->flags | IPC_NOWAIT, 0, 0);
}

long evs_msgrcv(int id, void *p, size_t n, long type, int flags)
{
	struct msg_call c = { id, p, n, type, flags };
	return wait_ipc(id, try_rcv, &c, ENOMSG, INT64_MAX, true, flags & IPC_NOWAIT);
}

long evs_msgsnd(int id, const void *p, size_t n, int flags)
{
	struct msg_call c = { id, (void *)p, n, 0, flags };
	return wait_ipc(id, try_snd, &c, EAGAIN, INT64_MAX, true, flags & IPC_NOWAIT);
}

struct sem_call {
	int id;
	struct sembuf ops[EVS_IPC_SEMOPS];
	size_t n;
};

static long try_sem(void *a)
{
	struct sem_call *c = a;
	return evs_sys6(SYS_semtimedop, c->id, c->ops, c->n, 0, 0, 0);
}

long evs_semop(int id, struct sembuf *ops, size_t n, const struct timespec *tmo)
{
	bool waits = false;
	for (size_t i = 0; i < n && n <= EVS_IPC_SEMOPS; i++)
		waits |= !(ops[i].sem_flg & IPC_NOWAIT);
	if (!waits || n == 0)
		return EVS_USE_REAL;  /* answered at once, or too many to copy */
	int64_t deadline = INT64_MAX;
	if (tmo) {
		if (tmo->tv_sec < 0 || tmo->tv_nsec < 0 || tmo->tv_nsec >= 1000000000)
			return -EINVAL;
		deadline = evs_now_ns() + (int64_t)tmo->tv_sec * 1000000000 + tmo->tv_nsec;
	}
	struct sem_call c = { .id = id, .n = n };
	memcpy(c.ops, ops, n * sizeof(*ops));
	for (size_t i = 0; i < n; i++)
		c.ops[i].sem_flg |= IPC_NOWAIT;
	return wait_ipc(id, try_sem, &c, EAGAIN, deadline, false, false);
}
