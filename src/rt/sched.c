/* The scheduler: workers, run queues, idle and wake-up.
 *
 * Actors
 *   worker  a kernel thread made with the real pthread_create (worker 0 is
 *           the process's main thread). Each runs a scheduler loop on its
 *           own context (w->sched): worker 0's on a stack mapped for it,
 *           the others' on their native thread stack.
 *   task    a user context (task.h). main() runs as task 0 on the main
 *           thread's stack, so a main that blocks parks like any task.
 *
 * Placement: a new task goes to the next worker round-robin and stays
 * there for life (task.h explains why). A task is therefore only ever run
 * by one kernel thread, and a worker's run queue has exactly one consumer:
 * the worker itself.
 *
 * Run queues (per worker, rt/runq.h): a local FIFO only the owner touches
 * and an inbox any thread may push to; the owner drains the inbox into the
 * FIFO in wake-up order.
 *
 * Idle and wake-up (no lost wake-up): an idle worker stores sleeping = 1,
 * then checks its inbox, and only then blocks in epoll_wait. A remote
 * waker pushes to the inbox, then exchanges sleeping to 0 and, if it was 1,
 * writes the worker's eventfd. Both sides' first step is a full barrier
 * (a seq_cst store; a locked CAS), so either the worker sees the push or
 * the waker sees sleeping = 1 and pokes: never neither. Only sleeping
 * workers are poked, so a busy worker costs its wakers no system call.
 *
 * Switching: a task that parks switches straight to the next task in its
 * worker's local queue (one switch, no detour through the scheduler), but
 * every EVS_HOPS_PER_POLL hops and whenever the queue is empty it returns
 * to the scheduler loop, which fires timers, drains the inbox and polls
 * the network, so neither timers nor sockets starve behind a busy queue.
 * A task that exits always returns to the scheduler, which retires its
 * stack once nothing runs on it. */
#include "../evs.h"
#include "sched.h"
#include "worker.h"
#include "config.h"
#include "stack.h"
#include "tls.h"
#include "offload.h"
#include "monitor.h"
#include "fileio.h"
#include "../io/aio.h"
#include "../io/uring.h"
#include "fdtab.h"
#include "../io/poller.h"
#include "../libc/sys.h"
#include "../obs/log.h"
#include "../libc/real.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

__thread struct evs_worker *evs_self __attribute__((tls_model("initial-exec")));
__thread int evs_vfork_child __attribute__((tls_model("initial-exec")));

struct evs_worker evs_workers[EVS_MAX_WORKERS];
int evs_nworkers = 1;
uint64_t evs_live_tasks;
struct evs_task evs_main_task;
int evs_pollers_live;

static unsigned place_next; /* atomic round-robin cursor */

/* Return to the scheduler every this many direct hops: bounds how long a
 * queue of busy tasks can hold off timers and network polling. */
#define EVS_HOPS_PER_POLL 32
/* Poll the network without blocking every this many scheduler rounds when
 * the run queue never empties (Go's scheduler uses 61 for the same). */
#define EVS_ROUNDS_PER_POLL 61
/* Idle spinning (spin_for_work): polls, and pauses between them (a pause
 * is some 40 ns here, so 100 pauses plus a 1 us poll make a round of
 * about 5 us). No spinning when a timer is due sooner than the spin. */
#define EVS_IDLE_PAUSES 100
#define EVS_IDLE_SPIN_MAX_NS 100000
/* Events taken from epoll per call. */
#define EVS_POLL_BATCH 128

/* --- run queues (rt/runq.h) ------------------------------------------ */

void evs_sched_ready(struct evs_task *t)
{
	struct evs_worker *tw = t->w;
	if (tw == evs_self) {
		evs_runq_push_local(&tw->rq, t);
		return;
	}
	evs_runq_push_remote(&tw->rq, t);
	evs_stat_add(EVS_ST_wakes_remote, 1);
	if (__atomic_load_n(&tw->sleeping, __ATOMIC_SEQ_CST) &&
	    __atomic_exchange_n(&tw->sleeping, 0, __ATOMIC_SEQ_CST)) {
		evs_poller_poke(tw->evfd);
		evs_stat_add(EVS_ST_worker_pokes, 1);
	}
}

/* Round-robin over the workers, passing over those the monitor finds
 * stalled (rt/monitor.c) while another is free, and retired ones. The
 * worker returned counts the new task (claim). Worker 0 never retires. */
struct evs_worker *evs_sched_place(void)
{
	int n = __atomic_load_n(&evs_nworkers, __ATOMIC_ACQUIRE);
	unsigned i = __atomic_fetch_add(&place_next, 1, __ATOMIC_RELAXED);
	for (int k = 0; k < n; k++) {
		struct evs_worker *w = &evs_workers[(i + (unsigned)k) % (unsigned)n];
		if (!__atomic_load_n(&w->stalled, __ATOMIC_RELAXED) && evs_worker_claim(w))
			return w;
	}
	for (int k = 0; k < n; k++) {  /* all stalled: any that is alive */
		struct evs_worker *w = &evs_workers[(i + (unsigned)k) % (unsigned)n];
		if (evs_worker_claim(w))
			return w;
	}
	evs_worker_claim(&evs_workers[0]);
	return &evs_workers[0];
}

/* --- the scheduler loop ----------------------------------------------- */

static void dispatch(struct evs_worker *w, struct epoll_event *ev, int n)
{
	for (int i = 0; i < n; i++) {
		if (ev[i].data.u64 == EVS_POLLER_POKE)
			evs_poller_drain(w->evfd);
		else if (ev[i].data.u64 == EVS_POLLER_URING)
			evs_uring_reap(w->uring, 1, evs_fileio_done);
		else if (ev[i].data.u64 == EVS_POLLER_AIO)
			evs_aio_reap(w->aio, evs_fileio_done);
		else if (ev[i].data.u64 == EVS_POLLER_SIGNAL)
			evs_sig_kernel_pending();
		else
			evs_fd_event(ev[i].data.u64, ev[i].events);
	}
}

static void poll_now(struct evs_worker *w)
{
	struct epoll_event ev[EVS_POLL_BATCH];
	int n = evs_poller_wait(w->epfd, 0, ev, EVS_POLL_BATCH);
	if (n > 0)
		dispatch(w, ev, n);
}

/* Before an idle worker blocks in epoll_wait (a context switch), it looks
 * for work a few times without blocking: a busy server's next event is
 * usually microseconds away. Bounded, so an idle process costs nothing
 * after EVSHIM_SPIN polls. EVSHIM_SPIN=0 turns it off (make bench
 * measures both). */
static int spin_for_work(struct evs_worker *w)
{
	struct epoll_event ev[EVS_POLL_BATCH];
	for (int i = 0; i < evs_config.idle_spins; i++) {
		for (int k = 0; k < EVS_IDLE_PAUSES; k++) {
			if (!evs_runq_inbox_empty(&w->rq))
				return 1;
			evs_cpu_relax();
		}
		int n = evs_poller_wait(w->epfd, 0, ev, EVS_POLL_BATCH);
		if (n > 0) {
			dispatch(w, ev, n);
			if (evs_runq_has_local(&w->rq) || !evs_runq_inbox_empty(&w->rq))
				return 1;
		}
	}
	return 0;
}

static void idle(struct evs_worker *w)
{
	struct epoll_event ev[EVS_POLL_BATCH];
	int64_t next = evs_timer_next(&w->timers), timeout = -1;

	if (next == INT64_MAX || next - evs_now_ns() > EVS_IDLE_SPIN_MAX_NS) {
		if (spin_for_work(w))
			return;
	}

	__atomic_store_n(&w->sleeping, 1, __ATOMIC_SEQ_CST);
	if (!evs_runq_inbox_empty(&w->rq) || !evs_sig_inbox_empty(&w->sigin)) {
		__atomic_store_n(&w->sleeping, 0, __ATOMIC_RELAXED);
		return;
	}
	if (next != INT64_MAX) {
		timeout = next - evs_now_ns();
		if (timeout < 0)
			timeout = 0;
	}
	timeout = evs_worker_idle_limit(w, timeout);
	w->st[EVS_ST_worker_sleeps]++;
	int n = evs_poller_wait(w->epfd, timeout, ev, EVS_POLL_BATCH);
	__atomic_store_n(&w->sleeping, 0, __ATOMIC_RELAXED);
	if (n > 0)
		dispatch(w, ev, n);
}

/* The scheduler loop's chores, for the preemption handler (monitor.c),
 * which runs them on a worker whose task has not let go for a while:
 * wake-ups from other workers, due timers, ready sockets. Owner only, and
 * never while the worker is inside the runtime. Returns whether any task
 * is now ready to run. */
int evs_sched_housekeeping(struct evs_worker *w)
{
	evs_runq_drain(&w->rq);
	if (w->timers.n)
		w->st[EVS_ST_timer_fires] += evs_timer_fire(&w->timers, evs_now_ns());
	poll_now(w);
	evs_runq_drain(&w->rq);
	return evs_runq_has_local(&w->rq);
}

/* Hand every task of w that has never run to another worker that is not
 * stalled (a task that has run stays: its TLS addresses are this
 * worker's). Owner only, never inside the runtime. Returns the count. */
int evs_sched_migrate_unstarted(struct evs_worker *w)
{
	int n = __atomic_load_n(&evs_nworkers, __ATOMIC_ACQUIRE), moved = 0;
	struct evs_worker *to = NULL;
	for (int k = 0; k < n && !to; k++)
		if (&evs_workers[k] != w && !__atomic_load_n(&evs_workers[k].stalled, __ATOMIC_RELAXED) &&
		    !__atomic_load_n(&evs_workers[k].retired, __ATOMIC_RELAXED))
			to = &evs_workers[k];
	if (!to)
		return 0;
	evs_runq_drain(&w->rq);
	struct evs_queue keep = { 0 };
	struct evs_task *t;
	while ((t = evs_runq_pop(&w->rq))) {
		/* A task that has run stays; so does one whose new worker
		 * turns out to be retiring after all (claim fails). */
		if (t->started || !evs_worker_claim(to)) {
			evs_queue_push(&keep, &t->rq);
			continue;
		}
		__atomic_sub_fetch(&w->ntasks, 1, __ATOMIC_SEQ_CST);
		t->w = to;
		evs_sched_ready(t);
		moved++;
	}
	w->rq.local = keep;
	return moved;
}

static void reap(struct evs_worker *w)
{
	struct evs_task *t = w->dead;
	w->dead = NULL;
	if (t != &evs_main_task) {
		evs_tls_task_free(w, t);
		evs_stack_retire(t);
		__atomic_sub_fetch(&w->ntasks, 1, __ATOMIC_SEQ_CST);
	}
	evs_task_unref(t);
}

/* Signals this worker's handler noted, or a new K to apply
 * (rt/signal.h): one load and a compare when there is nothing. */
static inline void signal_chores(struct evs_worker *w)
{
	if (EVS_UNLIKELY(!evs_sig_inbox_empty(&w->sigin) ||
			 w->kgen_seen != __atomic_load_n(&evs_sig_kgen, __ATOMIC_RELAXED)))
		evs_sig_worker_poll(w);
}

void evs_sched_loop(struct evs_worker *w)
{
	unsigned rounds = 0;
	for (;;) {
		signal_chores(w);
		evs_runq_drain(&w->rq);
		if (w->timers.n)
			w->st[EVS_ST_timer_fires] +=
				evs_timer_fire(&w->timers, evs_now_ns());
		if (++rounds % EVS_ROUNDS_PER_POLL == 0)
			poll_now(w);
		struct evs_task *t = evs_runq_pop(&w->rq);
		if (!t) {
			if (w->spare && evs_worker_try_retire(w))
				return;
			idle(w);
			continue;
		}
		if (w->spare)
			w->last_run = evs_now_ns();
		w->hops = 0;
		w->cur = t;
		w->st[EVS_ST_switches]++;
		evs_tls_switch(w, t);
		evs_ctx_switch(&w->sched, &t->ctx);
		/* Back from whichever task switched to the scheduler. */
		if (w->dead)
			reap(w);
	}
}

/* --- park and exit ---------------------------------------------------- */

void evs_sched_switch_out(struct evs_task *t)
{
	struct evs_worker *w = t->w;
	struct evs_task *n = NULL;

	if (++w->hops % EVS_HOPS_PER_POLL) {
		evs_runq_drain(&w->rq);
		n = evs_runq_pop(&w->rq);
	}
	if (n == t)       /* woken before it got away: keep running */
		return;
	w->st[EVS_ST_switches]++;
	if (n) {
		w->cur = n;
		evs_tls_switch(w, n);
		evs_ctx_switch(&t->ctx, &n->ctx);
	} else {
		w->cur = NULL;
		evs_ctx_switch(&t->ctx, &w->sched);
	}
	/* Resumed: whoever switched here has set w->cur = t. */
}

void evs_sched_exit_current(struct evs_task *t)
{
	struct evs_worker *w = t->w;
	w->dead = t;
	w->cur = NULL;
	w->st[EVS_ST_switches]++;
	evs_ctx_switch(&t->ctx, &w->sched);
	__builtin_unreachable();
}
