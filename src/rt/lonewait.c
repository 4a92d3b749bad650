/* The process's only task waits in the kernel itself (sched.h).
 *
 * A process with one task has nothing to run while that task waits, so
 * the runtime's way of waiting (look with a zero timeout, park on the
 * fds in the worker's epoll set, look again) costs two system calls more
 * than the program's own call and needs the runtime started. Here the
 * call is made as the program made it, with the time left, on the task's
 * own stack. What the runtime would have done meanwhile cannot be needed:
 * no other task exists or is queued, no timer is due before the call's
 * deadline, and nothing can hand this worker work but the task itself.
 * The one thing that can come is a signal: the call is made inside a
 * window (arch/window.h), so a signal for the task that arrives before
 * the kernel is entered ends it as surely as one that arrives after. The
 * monitor sees the worker as idle meanwhile (lone_wait), neither stalled
 * nor to be signalled. */
#include "../evs.h"
#include "sched.h"
#include "signal.h"
#include "task.h"
#include "../arch/window.h"
#include "../io/uring.h"
#include <errno.h>

static bool alone(int64_t deadline)
{
	if (__atomic_load_n(&evs_live_tasks, __ATOMIC_ACQUIRE) != 1)
		return false;
	struct evs_worker *w = evs_self;
	struct evs_task *t = w ? w->cur : NULL;
	if (!t || __atomic_load_n(&t->cancel_pending, __ATOMIC_ACQUIRE))
		return false;  /* a cancellation is acted on at the park */
	if (evs_runq_has_local(&w->rq) || !evs_runq_inbox_empty(&w->rq) ||
	    __atomic_load_n(&w->nfresh, __ATOMIC_RELAXED) ||
	    evs_timer_next(&w->timers) < deadline)
		return false;
	return true;
}

bool evs_lone_may_wait(int64_t deadline)
{
	/* A signal already noted or queued for the task is no reason to
	 * park: the window sees it and the call ends with -EINTR at once. */
	return evs_window_usable && alone(deadline);
}

bool evs_lone_runs(void)
{
	return !__atomic_load_n(&evs_pollers_live, __ATOMIC_ACQUIRE) || alone(INT64_MAX);
}

long evs_lone_call(long (*fn)(void *), void *arg)
{
	struct evs_worker *w = evs_self;
	evs_stat_add(EVS_ST_lone_calls, 1);
	if (!w)
		return fn(arg);
	__atomic_store_n(&w->lone_wait, 1, __ATOMIC_SEQ_CST);
	long r = fn(arg);
	__atomic_store_n(&w->lone_wait, 0, __ATOMIC_SEQ_CST);
	return r;
}

long evs_lone_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	return evs_lone_syscall_also(0, nr, a0, a1, a2, a3, a4, a5);
}

static struct evs_window window_of(struct evs_worker *w, struct evs_task *t, uint64_t also,
				   long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	evs_sig_worker_poll(w);  /* K as it is now (a pselect's mask) */
	return (struct evs_window){
		.head = &w->sigin.head,
		.seen = w->sigin.tail,
		.pend = &t->sig.pend,
		.blocked = t->sig.mask & ~also,
		.nr = nr,
		.a = { a0, a1, a2, a3, a4, a5 },
	};
}

long evs_brief_syscall(long nr, long a0, long a1, long a2, long a3)
{
	struct evs_worker *w = evs_self;
	struct evs_window win = window_of(w, w->cur, 0, nr, a0, a1, a2, a3, 0, 0);
	long r = evs_window_syscall(&win);
	if (r == -EINTR)
		evs_sig_worker_poll(w);  /* what the handler noted, to the task */
	return r;
}

long evs_lone_syscall_also(uint64_t also, long nr, long a0, long a1, long a2, long a3, long a4,
			   long a5)
{
	struct evs_worker *w = evs_self;
	struct evs_task *t = w->cur;
	struct evs_window win = window_of(w, t, also, nr, a0, a1, a2, a3, a4, a5);
	unsigned entries = w->sig_entries;
	__atomic_store_n(&w->lone_wait, 1, __ATOMIC_SEQ_CST);
	long r = evs_window_syscall(&win);
	__atomic_store_n(&w->lone_wait, 0, __ATOMIC_SEQ_CST);
	w->st[EVS_ST_lone_waits]++;
	if (r == -EINTR) {
		/* Not the stub's own exit (something noted or pending) and
		 * no handler of ours began meanwhile: the kernel ended the
		 * call itself, as it ends epoll_wait and sigtimedwait after
		 * a stop and continue (signal(7)), which the program sees
		 * natively. Not so when a completion of our own ring may
		 * have interrupted it (its work sent as a signal). */
		if (__atomic_load_n(&w->sig_entries, __ATOMIC_SEQ_CST) == entries &&
		    __atomic_load_n(&w->sigin.head, __ATOMIC_ACQUIRE) == win.seen &&
		    !(__atomic_load_n(&t->sig.pend, __ATOMIC_ACQUIRE) & ~win.blocked) &&
		    !evs_uring_may_interrupt(w->uring))
			/* now, not before the call: only this task's call can
			 * be waiting (the process has no other), and it began
			 * before; no clock read on the lone wait's way in */
			evs_sig_stopped(evs_stop_mark());
		evs_sig_worker_poll(w);  /* what the handler noted, to the task */
	}
	return r;
}
