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
 * Placement: a new task starts on its creator's worker or an idle one,
 * and may be stolen until it has run (below). Once it has run it stays
 * (task.h explains why), except that its worker may hand it to an idle
 * worker while it is queued after a preemption, in TLS address mode
 * ("tasks that have run", below). A task is only ever run by its home
 * worker's kernel thread, and a worker's run queue has exactly one
 * consumer: the worker itself.
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
#include "dump.h"
#include "worker.h"
#include "config.h"
#include "stack.h"
#include "tls.h"
#include "offload.h"
#include "monitor.h"
#include "fileio.h"
#include "netring.h"
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
		evs_monitor_nudge();  /* after the push, which the monitor then sees */
		return;
	}
	evs_runq_push_remote(&tw->rq, t);
	evs_monitor_nudge();
	evs_stat_add(EVS_ST_wakes_remote, 1);
	if (__atomic_load_n(&tw->sleeping, __ATOMIC_SEQ_CST) &&
	    __atomic_exchange_n(&tw->sleeping, 0, __ATOMIC_SEQ_CST)) {
		evs_poller_poke(tw->evfd);
		evs_stat_add(EVS_ST_worker_pokes, 1);
	}
}

/* --- new tasks: started at home, stolen by idle workers ------------------
 *
 * A new task is placed on the worker of the task that creates it: no
 * wake-up to pay, and a thread that is created and then joined runs on the
 * spot. It waits in that worker's `fresh` queue, not in its run queue,
 * because until it has run it may still move (task.h): an idle worker
 * steals it when that balances the load (the victim is home to at least
 * EVS_STEAL_MARGIN more tasks than the thief, or it is stalled). The creator wakes a
 * sleeping worker to come and steal when its own worker already has other
 * work waiting, so work spreads over the CPUs as soon as there is more of
 * it than one worker can start at once. Once a task has run it stays. */

/* How many more tasks a worker must be home to than an idle one before
 * the idle one takes its new tasks: with 3, a task that is created and
 * joined (2 tasks at home: its creator and itself) is not taken away from
 * under its creator, which is about to run it; a third is. */
#define EVS_STEAL_MARGIN 3

static bool stalled(struct evs_worker *w)
{
	return __atomic_load_n(&w->stalled, __ATOMIC_RELAXED);
}

static int ntasks(struct evs_worker *w)
{
	return __atomic_load_n(&w->ntasks, __ATOMIC_RELAXED);
}

static bool has_fresh(struct evs_worker *w)
{
	return __atomic_load_n(&w->nfresh, __ATOMIC_ACQUIRE) != 0;
}

static bool busy(struct evs_worker *w)
{
	return evs_runq_has_local(&w->rq) || has_fresh(w);
}

/* A worker with nothing to run (asleep, or about to be): a new task
 * placed there starts at once, in parallel with its creator's worker. */
static struct evs_worker *idle_worker(struct evs_worker *not)
{
	int n = __atomic_load_n(&evs_nworkers, __ATOMIC_ACQUIRE);
	for (int k = 0; k < n; k++) {
		struct evs_worker *w = &evs_workers[k];
		if (w != not && !__atomic_load_n(&w->retired, __ATOMIC_RELAXED) && !stalled(w) &&
		    !__atomic_load_n(&w->cur, __ATOMIC_RELAXED) && !busy(w))
			return w;
	}
	return NULL;
}

/* A new task's worker, which counts it (claim): the creator's own, unless
 * that one already has other work waiting while another worker idles (the
 * idle one then), or it is stalled, or the creator is not a task (then the
 * least loaded of those that are not stalled; else any that is alive).
 * Placing on the idle worker at once rather than leaving the task for it
 * to steal matters for tasks that start, wait for work, then compute: by
 * the time a sleeping worker wakes up to steal, the creator's worker has
 * often started them all, and there they would stay. */
struct evs_worker *evs_sched_place(void)
{
	struct evs_worker *me = evs_self;
	if (me && me->cur && !stalled(me)) {
		struct evs_worker *w = busy(me) ? idle_worker(me) : NULL;
		if (w && evs_worker_claim(w))
			return w;
		if (evs_worker_claim(me))
			return me;
	}
	int n = __atomic_load_n(&evs_nworkers, __ATOMIC_ACQUIRE);
	for (int pass = 0; pass < 2; pass++) {
		struct evs_worker *best = NULL;
		for (int k = 0; k < n; k++) {
			struct evs_worker *w = &evs_workers[k];
			if (__atomic_load_n(&w->retired, __ATOMIC_RELAXED) || (!pass && stalled(w)))
				continue;
			if (!best || ntasks(w) < ntasks(best))
				best = w;
		}
		if (best && evs_worker_claim(best))
			return best;
	}
	evs_worker_claim(&evs_workers[0]);  /* worker 0 never retires */
	return &evs_workers[0];
}

static void fresh_push(struct evs_worker *w, struct evs_task *t)
{
	evs_spin_lock(&w->fresh_lock);
	evs_queue_push(&w->fresh, &t->rq);
	__atomic_add_fetch(&w->nfresh, 1, __ATOMIC_RELEASE);
	evs_spin_unlock(&w->fresh_lock);
}

static struct evs_task *fresh_pop(struct evs_worker *w)
{
	evs_spin_lock(&w->fresh_lock);
	struct evs_link *l = evs_queue_pop(&w->fresh);
	if (l)
		__atomic_sub_fetch(&w->nfresh, 1, __ATOMIC_RELEASE);
	evs_spin_unlock(&w->fresh_lock);
	return l ? evs_queue_entry(l, struct evs_task, rq) : NULL;
}

/* Wake one sleeping worker (other than `not`), so it comes to steal. */
bool evs_sched_wake_thief(struct evs_worker *not)
{
	int n = __atomic_load_n(&evs_nworkers, __ATOMIC_ACQUIRE);
	for (int k = 0; k < n; k++) {
		struct evs_worker *w = &evs_workers[k];
		if (w == not || __atomic_load_n(&w->retired, __ATOMIC_RELAXED))
			continue;
		if (__atomic_load_n(&w->sleeping, __ATOMIC_SEQ_CST) &&
		    __atomic_exchange_n(&w->sleeping, 0, __ATOMIC_SEQ_CST)) {
			evs_poller_poke(w->evfd);
			evs_stat_add(EVS_ST_worker_pokes, 1);
			return true;
		}
	}
	return false;
}

void evs_sched_spawn(struct evs_task *t)
{
	struct evs_worker *tw = t->w;
	bool busy = tw == evs_self && (evs_runq_has_local(&tw->rq) || has_fresh(tw));
	fresh_push(tw, t);
	evs_monitor_nudge();
	if (tw != evs_self) {  /* placed elsewhere: that worker must look */
		if (__atomic_load_n(&tw->sleeping, __ATOMIC_SEQ_CST) &&
		    __atomic_exchange_n(&tw->sleeping, 0, __ATOMIC_SEQ_CST)) {
			evs_poller_poke(tw->evfd);
			evs_stat_add(EVS_ST_worker_pokes, 1);
		}
	} else if (busy) {  /* more new work than this worker can start now */
		evs_sched_wake_thief(tw);
	}
}

/* An idle worker takes a never-run task from another, where that
 * balances the load or the other is stalled. Owner only (me). */
static struct evs_task *steal(struct evs_worker *me)
{
	if (__atomic_load_n(&me->retired, __ATOMIC_RELAXED))
		return NULL;
	int n = __atomic_load_n(&evs_nworkers, __ATOMIC_ACQUIRE), mine = ntasks(me);
	struct evs_worker *victim = NULL;
	for (int k = 0; k < n; k++) {
		struct evs_worker *v = &evs_workers[k];
		if (v == me || !has_fresh(v))
			continue;
		if (stalled(v) || ntasks(v) >= mine + EVS_STEAL_MARGIN) {
			if (!victim || stalled(v) || ntasks(v) > ntasks(victim))
				victim = v;
		}
	}
	if (!victim || !evs_worker_claim(me))
		return NULL;
	struct evs_task *t = fresh_pop(victim);
	if (!t) {
		__atomic_sub_fetch(&me->ntasks, 1, __ATOMIC_SEQ_CST);
		return NULL;
	}
	__atomic_sub_fetch(&victim->ntasks, 1, __ATOMIC_SEQ_CST);
	t->w = me;
	me->st[EVS_ST_steals]++;
	return t;
}

/* A new task about to start here goes to an idle worker instead when
 * that one is home to no task, or to at least two fewer (the main thread
 * is not counted), unless the task switching out waits on another thread
 * of this process (a join, a lock, a semaphore, a condition variable, or
 * a read of a pipe made here that a writer may hand bytes to: most
 * likely on the new task, which then runs at once on the spot, as
 * spawn-and-join and hand-offs through semaphores and pipes want: each
 * hop between two workers is a wake-up of the other's thread). Once started a
 * task never moves, so this is the last chance to spread: a program whose
 * main thread makes a helper and then waits in epoll (redis with
 * io-threads) had both pinned to one worker, spinning at each other while
 * the other worker slept. True when t was given away. */
static bool give_away(struct evs_worker *w, struct evs_task *t)
{
	struct evs_task *prev = w->cur;
	if (t->given || (prev && (evs_wait_is_sync(prev->parked_on) || prev->pipe_offer)))
		return false;
	struct evs_worker *o = idle_worker(w);
	if (!o || (ntasks(o) && ntasks(o) + 1 >= ntasks(w)) || !evs_worker_claim(o))
		return false;
	__atomic_sub_fetch(&w->ntasks, 1, __ATOMIC_SEQ_CST);
	t->w = o;
	t->given = 1;  /* once: two idle workers would pass it back and forth */
	fresh_push(o, t);
	w->st[EVS_ST_given_away]++;
	if (__atomic_load_n(&o->sleeping, __ATOMIC_SEQ_CST) &&
	    __atomic_exchange_n(&o->sleeping, 0, __ATOMIC_SEQ_CST)) {
		evs_poller_poke(o->evfd);
		evs_stat_add(EVS_ST_worker_pokes, 1);
	}
	return true;
}

/* --- tasks that have run: moved only when preempted, by their worker --
 *
 * A task that has run keeps its worker, with one exception: where each
 * task has a thread pointer of its own (TLS address mode, tls.h), its
 * identity (its __thread data, errno's address, the owner glibc's
 * recursive locks record: the pointer, or the kernel thread id in its
 * descriptor, which evs_tls_move sets to the new worker's) goes with it.
 * Such a task that the monitor preempted (monitor.c) was interrupted with
 * only the program's own code on its stack (the safe-point rule: no libc,
 * loader or runtime frame, so no lock of theirs held, no fd registration
 * or ring operation half made), and its handler's frame is on its own
 * stack; the handler rewrites that frame for the new kernel thread before
 * sigreturn (its alternate stack and mask). So when this worker has more
 * ready tasks than it can run and another worker is idle, it hands that
 * one up to half of them (Go's work stealing takes half too; here the
 * owner gives, so its run queue stays owner-only and the task is
 * certainly switched out: it is queued and not w->cur).
 * Not moved: the main task (its area is the main thread's), a task with
 * no area of its own, a task parked in any other way (a wait in a lock or
 * condition may be made inside libc or the loader, holding their locks:
 * a library's constructor run by dlopen holds the loader's), and every
 * task in copy mode or without TLS of the program's own, where all tasks
 * of a worker share its thread pointer and an address of errno that the
 * compiler keeps across a call (__errno_location is declared const)
 * would point at the old worker's. */

/* At most this many queued tasks are looked at for a move, and after a
 * look that found none to move, this many picks go by before the next,
 * unless one of the worker's tasks is preempted meanwhile (monitor.c):
 * then it may move, and the next pick looks. Before that, the look made
 * as woken tasks were queued (none yet movable) left the first preempted
 * one to wait 64 picks, so whether a move came at all hung on timing. */
#define EVS_SHARE_SCAN 16
#define EVS_SHARE_BACKOFF 64

static bool on_own_stack(const struct evs_task *t)
{
	uintptr_t sp = evs_ctx_sp(&t->ctx), lo = (uintptr_t)t->stack_lo;
	return sp >= lo && sp < lo + t->stack_size;
}

static bool movable(struct evs_worker *w, struct evs_task *t)
{
	return t != w->cur && t != &evs_main_task && t->started && t->tp && t->tp != w->tp &&
	       t->tcb_ready && t->parked_on == EVS_WAIT_yield && t->preempt_uc &&
	       t->sigframes == 1 && on_own_stack(t) && t->glibc_locks == 0;
}

/* A worker with nothing to run and nothing coming: no task, no ready,
 * new or woken one. */
static struct evs_worker *idle_for_share(struct evs_worker *not)
{
	struct evs_worker *o = idle_worker(not);
	return o && evs_runq_inbox_empty(&o->rq) ? o : NULL;
}

/* Move t (queued on w, movable, already out of w's queue) to o, which has
 * counted it (claimed). */
static void move_task(struct evs_worker *w, struct evs_worker *o, struct evs_task *t)
{
	evs_tls_move(w, o, t);
	__atomic_sub_fetch(&w->ntasks, 1, __ATOMIC_SEQ_CST);
	w->st[EVS_ST_moved]++;
	t->w = o;
	evs_sched_ready(t);  /* o's inbox (it publishes t->w), a poke if it sleeps */
}

/* t was just taken from w's run queue and more wait behind it: if another
 * worker idles, hand it up to half of them, t first. Returns the task w
 * runs now (t, or the next one that stayed). */
static struct evs_task *share(struct evs_worker *w, struct evs_task *t)
{
	if (w->share_skip) {
		w->share_skip--;
		return t;
	}
	struct evs_worker *o = idle_for_share(w);
	/* a spare whose thread has not started yet has no thread pointer */
	if (!o || !__atomic_load_n(&o->tp, __ATOMIC_ACQUIRE))
		return t;
	int n = 1;
	for (struct evs_link *l = w->rq.local.head; l && n < EVS_SHARE_SCAN; l = l->next)
		n++;
	int quota = n / 2, moved = 0, looked = 1;
	struct evs_task *run = t;
	if (movable(w, t) && evs_worker_claim(o)) {
		move_task(w, o, t);
		run = NULL;
		moved++;
	}
	for (struct evs_link *l = w->rq.local.head, *next; l && moved < quota && looked < n; l = next) {
		next = l->next;
		looked++;
		struct evs_task *x = evs_queue_entry(l, struct evs_task, rq);
		if (!movable(w, x) || !evs_worker_claim(o))
			continue;
		evs_queue_del(&w->rq.local, l);
		move_task(w, o, x);
		moved++;
	}
	if (!moved)
		w->share_skip = EVS_SHARE_BACKOFF;
	return run ? run : evs_runq_pop(&w->rq);
}

/* The next task to run on w, owner only: its run queue, and its new tasks
 * every other turn (so a busy worker still starts new tasks). */
static struct evs_task *pick(struct evs_worker *w)
{
	while (EVS_UNLIKELY(has_fresh(w)) && (!evs_runq_has_local(&w->rq) || (w->fresh_turn++ & 1))) {
		struct evs_task *t = fresh_pop(w);
		if (!t)
			break;
		if (!give_away(w, t))
			return t;
	}
	struct evs_task *t = evs_runq_pop(&w->rq);
	if (EVS_UNLIKELY(evs_tls_by_address) && t && evs_runq_has_local(&w->rq) && evs_tls_movable())
		t = share(w, t);
	return t;
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

/* The worker's net ring (EVSHIM_NET=uring), or NULL: it waits in epoll. */
static inline struct evs_uring *net_of(struct evs_worker *w)
{
	return evs_uring_is_net(w->uring) ? w->uring : NULL;
}

/* Take what the epoll set has now (a full batch: look again, since the
 * ring's poll on the set fires only when something new comes). */
static void take_epoll(struct evs_worker *w)
{
	struct epoll_event ev[EVS_POLL_BATCH];
	int n;
	do {
		n = evs_poller_wait(w->epfd, 0, ev, EVS_POLL_BATCH);
		if (n > 0)
			dispatch(w, ev, n);
	} while (n == EVS_POLL_BATCH);
}

/* A net ring's chores: submit what the tasks queued since the last time
 * (one system call for the lot, none when nothing is queued), hand out
 * the completions (read from memory), and ask epoll only when the ring's
 * poll on the set fired. */
static void ring_round(struct evs_worker *w, struct evs_uring *u)
{
	evs_uring_flush(u);
	evs_uring_reap(u, 0, evs_fileio_done);
	if (evs_uring_take_epoll(u))
		take_epoll(w);
}

static void poll_now(struct evs_worker *w)
{
	struct evs_uring *u = net_of(w);
	if (u) {
		ring_round(w, u);
		return;
	}
	struct epoll_event ev[EVS_POLL_BATCH];
	int n = evs_poller_wait(w->epfd, 0, ev, EVS_POLL_BATCH);
	if (n > 0)
		dispatch(w, ev, n);
}

/* Before an idle worker blocks in epoll_wait (a context switch), it looks
 * for work for a while without blocking: a busy server's next event is
 * usually microseconds away. Bounded, so an idle process costs nothing
 * after EVSHIM_SPIN rounds. EVSHIM_SPIN=0 turns it off. The run queue's
 * inbox is memory and looked at all the time; the poller is a system call
 * and asked after rounds 1, 2, 4, 8 and the last. */
/* Steal a task and queue it to run here; true if it did. */
static bool steal_into(struct evs_worker *w)
{
	struct evs_task *t = steal(w);
	if (t)
		evs_runq_push_local(&w->rq, t);
	return t != NULL;
}

/* Spinning pays where the work it waits for comes from another task of
 * this process: a hand-off costs no sleep and wake-up of the kernel's. A
 * process's only task waits for the outside world, as it would natively:
 * the worker sleeps at once. With many such processes (PostgreSQL's
 * backends, a prefork server's children) each one's spin took CPU from
 * the others: 2.7 against 2.0 ms of CPU per pgbench transaction. */
static bool spin_pays(void)
{
	return __atomic_load_n(&evs_live_tasks, __ATOMIC_RELAXED) > 1;
}

static int spin_for_work(struct evs_worker *w)
{
	struct epoll_event ev[EVS_POLL_BATCH];
	for (int i = 0; i < evs_config.idle_spins; i++) {
		for (int k = 0; k < EVS_IDLE_PAUSES; k++) {
			if (!evs_runq_inbox_empty(&w->rq) || has_fresh(w))
				return 1;
			evs_cpu_relax();
		}
		if (steal_into(w))
			return 1;
		/* The poller is asked after rounds 1, 2, 4, 8... and the last:
		 * each look is a system call, and an event that has not come
		 * within a few microseconds is less and less likely to come
		 * in the next few. */
		if ((i & (i + 1)) && i != evs_config.idle_spins - 1)
			continue;
		int n = evs_poller_wait(w->epfd, 0, ev, EVS_POLL_BATCH);
		if (n > 0) {
			dispatch(w, ev, n);
			if (evs_runq_has_local(&w->rq) || !evs_runq_inbox_empty(&w->rq))
				return 1;
		}
	}
	return 0;
}

static bool runnable(struct evs_worker *w)
{
	return evs_runq_has_local(&w->rq) || !evs_runq_inbox_empty(&w->rq);
}

/* Before a worker sleeps: it says so, then looks once more for work that
 * came meanwhile (a poke after the store wakes the sleep that follows):
 * queued or fresh tasks, signals, a dump asking the world to stop, a
 * task to steal, completions in its ring (u, when it waits there). false:
 * work came, it stays awake. */
static bool may_sleep(struct evs_worker *w, struct evs_uring *u)
{
	__atomic_store_n(&w->sleeping, 1, __ATOMIC_SEQ_CST);
	if (!evs_runq_inbox_empty(&w->rq) || !evs_sig_inbox_empty(&w->sigin) || has_fresh(w) ||
	    __atomic_load_n(&evs_dump_stop, __ATOMIC_SEQ_CST) || steal_into(w) ||
	    (u && evs_uring_ready(u))) {
		__atomic_store_n(&w->sleeping, 0, __ATOMIC_RELAXED);
		return false;
	}
	w->st[EVS_ST_worker_sleeps]++;
	return true;
}

/* The signal mask w's thread sleeps under (evs_sig_sleep_bits), or NULL
 * for K as it has it. No task lives on w when none is counted in its
 * ntasks and it is not worker 0, home of the main task (never counted
 * there, never moved). */
static const uint64_t *sleep_mask(struct evs_worker *w, uint64_t *m)
{
	bool none = w != &evs_workers[0] && !__atomic_load_n(&w->ntasks, __ATOMIC_SEQ_CST);
	return evs_sig_sleep_bits(w, none, m) ? m : NULL;
}

/* How long the sleep may last: until the next timer (-1: none), within
 * the worker's idle limit. */
static int64_t sleep_timeout(struct evs_worker *w, int64_t next)
{
	int64_t timeout = -1;
	if (next != INT64_MAX) {
		timeout = next - evs_now_ns();
		if (timeout < 0)
			timeout = 0;
	}
	return evs_worker_idle_limit(w, timeout);
}

/* idle() for a worker that waits in its net ring: the spin looks at the
 * ring's memory (completions, the epoll set's poll), never at the kernel,
 * and the sleep is one io_uring_enter that also submits what is queued. */
/* The worker's own sleep ended with EINTR and no handler of ours began
 * on its thread meanwhile: the process was stopped and continued (or a
 * tracer stopped it), which ends the program's epoll_wait natively too.
 * The monitor's sleep says so as well; a second witness, since a thread
 * that is not asleep in the kernel at the stop (the monitor between two
 * sleeps, or waiting for a CPU) never hears of it. */
static void stop_witness(struct evs_worker *w, long r, unsigned entries, int64_t slept_at, long nv)
{
	/* and a stop's extra context switch: the wait may sleep more than
	 * once for itself, and other handlers than ours end it too */
	if (r == -EINTR && __atomic_load_n(&w->sig_entries, __ATOMIC_SEQ_CST) == entries &&
	    evs_sig_inbox_empty(&w->sigin) && !evs_uring_may_interrupt(w->uring) &&
	    evs_stop_seen(nv))
		evs_sig_stopped(slept_at);
}

static void idle_ring(struct evs_worker *w, struct evs_uring *u)
{
	int64_t next = evs_timer_next(&w->timers);
	evs_uring_flush(u);  /* what the spin waits for must be in */
	if (spin_pays() && (next == INT64_MAX || next - evs_now_ns() > EVS_IDLE_SPIN_MAX_NS)) {
		for (int i = 0; i < evs_config.idle_spins; i++) {
			for (int k = 0; k < EVS_IDLE_PAUSES; k++) {
				if (!evs_runq_inbox_empty(&w->rq) || has_fresh(w))
					return;
				if (evs_uring_ready(u)) {
					ring_round(w, u);
					if (runnable(w))
						return;
				}
				evs_cpu_relax();
			}
			if (steal_into(w))
				return;
		}
	}
	if (!may_sleep(w, u))
		return;
	unsigned entries = w->sig_entries;
	long nv = evs_stop_watch();
	int64_t slept_at = nv >= 0 ? evs_stop_mark() : 0;  /* only while it may count */
	uint64_t m;
	stop_witness(w, evs_uring_wait(u, sleep_timeout(w, next), sleep_mask(w, &m)), entries,
		     slept_at, nv);
	__atomic_store_n(&w->sleeping, 0, __ATOMIC_RELAXED);
	ring_round(w, u);
}

static void idle(struct evs_worker *w)
{
	struct epoll_event ev[EVS_POLL_BATCH];
	int64_t next = evs_timer_next(&w->timers);
	struct evs_uring *u = net_of(w);
	if (u) {
		idle_ring(w, u);
		return;
	}

	if (spin_pays() && (next == INT64_MAX || next - evs_now_ns() > EVS_IDLE_SPIN_MAX_NS)) {
		if (spin_for_work(w))
			return;
	}

	if (!may_sleep(w, NULL))
		return;
	unsigned entries = w->sig_entries;
	long nv = evs_stop_watch();
	int64_t slept_at = nv >= 0 ? evs_stop_mark() : 0;  /* only while it may count */
	/* what its tasks all block stays closed while it sleeps (signal.h) */
	uint64_t m;
	int n = evs_poller_wait_masked(w->epfd, sleep_timeout(w, next), ev, EVS_POLL_BATCH,
				       sleep_mask(w, &m));
	stop_witness(w, n, entries, slept_at, nv);
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
	return evs_runq_has_local(&w->rq) || has_fresh(w);
}

static void reap(struct evs_worker *w)
{
	struct evs_task *t = w->dead;
	w->dead = NULL;
	evs_task_finished(t);  /* a joiner may free a stack it gave: t is off it */
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
	evs_net_ring();  /* EVSHIM_NET=uring: the worker waits in its ring from now on */
	for (;;) {
		/* A task that ended by switching to a scheduler context that
		 * starts here (made fresh, never switched away from) */
		if (EVS_UNLIKELY(w->dead != NULL))
			reap(w);
		if (EVS_UNLIKELY(__atomic_load_n(&evs_dump_stop, __ATOMIC_RELAXED)))
			evs_dump_hold(w);
		signal_chores(w);
		evs_runq_drain(&w->rq);
		if (w->timers.n)
			w->st[EVS_ST_timer_fires] +=
				evs_timer_fire(&w->timers, evs_now_ns());
		struct evs_uring *u = net_of(w);
		if (u)  /* each round: a batch of operations in, completions out */
			ring_round(w, u);
		else if (++rounds % EVS_ROUNDS_PER_POLL == 0)
			poll_now(w);
		struct evs_task *t = w->handover;
		w->handover = NULL;
		if (!t)
			t = pick(w);
		if (!t && !(t = steal(w))) {
			if (w->spare && evs_worker_try_retire(w))
				return;
			idle(w);
			continue;
		}
		if (w->spare)
			w->last_run = evs_now_ns();
		w->hops = 0;
		w->st[EVS_ST_switches]++;
		/* Before t is current: making its TLS area may call the
		 * program's malloc, whose locks must not take t for the
		 * caller (t is not running; this is the scheduler). */
		evs_tls_switch(w, t);
		w->cur = t;
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

	/* A dump in progress: back to the scheduler, which holds there. */
	if (++w->hops % EVS_HOPS_PER_POLL && !__atomic_load_n(&evs_dump_stop, __ATOMIC_RELAXED)) {
		evs_runq_drain(&w->rq);
		n = pick(w);
	}
	if (n == t)       /* woken before it got away: keep running */
		return;
	/* A task with no TLS area yet (address mode turned on after it was
	 * made) gets one from the scheduler loop, not from here: the
	 * program's malloc may lock, and t is half-way through parking. */
	if (n && evs_tls_needs_area(n)) {
		w->handover = n;
		n = NULL;
	}
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
