/* The monitor.
 *
 * A watchdog thread (a plain kernel thread, not a worker) looks at every
 * worker each EVS_MONITOR_TICK_NS (less often, up to EVS_MONITOR_IDLE_NS,
 * while no worker runs a task). It also looks for deadlocks (rt/dump.h). A worker that is running a task and has
 * not switched for EVS_STALL_NS is stalled: in a call the shim cannot see,
 * or a CPU-bound loop. The monitor then
 *   - marks it stalled, so new tasks are placed elsewhere;
 *   - sends it EVS_SIG_PREEMPT, at most every EVS_STALL_NS, when work
 *     waits behind its task (below);
 *   - when every worker is stalled, adds a spare worker (up to
 *     EVSHIM_MAX_WORKERS), so placement and migration have somewhere to go.
 *
 * The signal handler runs on the stalled worker, on the interrupted task's
 * stack (it starts on the worker's alternate stack and moves there, see
 * on_preempt; a task caught on a stack not its own is left alone), and
 * decides from the interrupted stack itself (libunwind, against
 * a module map built at start-up, so the lookups are async-signal-safe):
 *   - every frame is the program's own code (any module but libc, the
 *     loader, libgcc and the shim), or the top frame is a bare system-call
 *     wrapper of libc called from such code (syscall(), read(), ...): no
 *     runtime or libc lock can be held, so the handler runs the scheduler's
 *     chores (wake-ups, timers, sockets) and, if another task is ready,
 *     yields the interrupted one. When that task is resumed, the handler
 *     returns and the kernel restarts its system call (SA_RESTART) or its
 *     loop goes on;
 *   - libc, the loader or unknown code on the stack (a stdio or malloc
 *     lock may be held): the task must keep the worker, but tasks that
 *     have never run move to a worker that is not stalled;
 *   - the shim on the stack: nothing (its structures may be mid-update).
 * Tasks that have run do not move (their TLS addresses may be the
 * worker's), so this preemption is what keeps them live on a stalled
 * worker; in TLS address mode a task it preempted may then be handed to
 * an idle worker (sched.c, frame_here).
 *
 * Sooner than that, a worker that has not switched for EVS_PENDING_NS while
 * it has work waiting (a timer due, a wake-up in its inbox, an event in
 * its epoll set for a task parked there) gets the signal too, so a sleeper
 * or a reader next to a CPU-bound task wakes about 1-2 ms late, not 10.
 * The stall threshold is 10 ms (Go's sysmon uses the same for forced
 * preemption); make bench measures both the latency and the monitor's
 * own cost.
 *
 * The tick is 1 ms only while something may need it: a running task with
 * work behind it, tasks parked on its worker's epoll set, a signal owed.
 * Otherwise (CPU-bound threads with nothing queued: xz -T2, a compute
 * pool) it doubles up to EVS_STALL_NS, bounded by the next timer due on a
 * busy worker, and a wake-up or new task queued anywhere meanwhile
 * (evs_monitor_nudge) brings it back at once: each tick takes a CPU from
 * a running thread, some 1,000 involuntary switches a second on a
 * 2-CPU machine where both run. */
#include "../evs.h"
#include "monitor.h"
#include "config.h"
#include "sched.h"
#include "worker.h"
#include "task.h"
#include "safepoint.h"
#include "sigframe.h"
#include "handoff.h"
#include "offload.h"
#include "dump.h"
#include "../arch/window.h"
#include "signal.h"
#include "../io/poller.h"
#include "../libc/real.h"
#include "../obs/log.h"
#include "../libc/sys.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/resource.h>
#include <ucontext.h>

#define EVS_MONITOR_TICK_NS (1 * 1000000LL)
#define EVS_PENDING_NS (1 * 1000000LL)
#define EVS_STALL_NS (10 * 1000000LL)
#define EVS_MONITOR_IDLE_NS (16 * 1000000LL)
#define EVS_MONITOR_LONE_NS (256 * 1000000LL)
static bool own_stack(const struct evs_task *t, uintptr_t sp);

/* A preempted task resumed on another worker (sched.c): its handler's
 * sigreturn will set this kernel thread's alternate stack and signal mask
 * from the frame, which hold the old worker's. They become this thread's
 * (its mask now is its normal one: a task runs here only outside any
 * handler of this thread's, or inside one that does not change it). */
static void frame_here(ucontext_t *uc)
{
	stack_t ss;
	if (evs_sys3(SYS_sigaltstack, 0, &ss, 0) == 0) {
		ss.ss_flags &= ~SS_ONSTACK;
		uc->uc_stack = ss;
	}
	sigset_t m;
	memset(&m, 0, sizeof(m));
	if (evs_sys6(SYS_rt_sigprocmask, SIG_BLOCK, 0, &m, _NSIG / 8, 0, 0) == 0)
		uc->uc_sigmask = m;
}

/* The handler's work once it runs on the interrupted task's own stack. */
static void preempt_body(void *ucv)
{
	int saved = errno;
	struct evs_worker *w = evs_self;
	/* The runtime's kernel frames a task is inside: it may move to
	 * another worker only when this is the one, at the yield below
	 * (sched.c), which then makes the frame that thread's. */
	struct evs_task *in = w->cur;
	if (in)
		in->sigframes++;
	/* a program signal this one may carry: its handler's EINTR stays */
	bool owed = evs_sig_owed(w);
	/* Taken: the next request sends another (evs_monitor_ipi). Cleared
	 * before the requests are read, so none posted after is missed. */
	__atomic_store_n(&w->ipi_at, 0, __ATOMIC_SEQ_CST);
	/* The same signal carries the runtime's own requests: a program
	 * signal owed to the running task, a new K (rt/signal.h)... */
	evs_sig_on_ipi(w, ucv);
	uint64_t kgen = __atomic_load_n(&evs_sig_kgen, __ATOMIC_ACQUIRE);
	/* ...and the monitor's: preempt. */
	struct evs_task *t = w->cur;
	if (!__atomic_exchange_n(&w->preempt_req, 0, __ATOMIC_ACQ_REL) || !t ||
	    !__atomic_load_n(&evs_pollers_live, __ATOMIC_ACQUIRE))
		goto out;
	/* Blocked in the runtime's own call that waits on what it cannot
	 * see (an open of a FIFO, rt/fileops.c): made elsewhere, as a
	 * program's own raw call below. */
	if (evs_handoff_offable(ucv)) {
		evs_sig_frame_renew(ucv, kgen);
		goto out;
	}
	int at = evs_monitor_classify(t, ucv);
	/* libc's own wait until an absolute time (aio_suspend's futex),
	 * ended by this signal: made again, as below (rt/handoff.c) */
	if (at == EVS_AT_LIBC && !owed)
		evs_handoff_redo(w, ucv, true);
	if (at != EVS_AT_PROGRAM) {
		/* The shim or libc on the stack: not here. A task busy with
		 * calls that never wait (sends that all succeed, polls that
		 * find something ready) is nearly always inside them when the
		 * signal comes; it yields on its way out of the next one. */
		w->st[EVS_ST_preempt_refused]++;
		__atomic_store_n(&w->yield_owed, 1, __ATOMIC_RELAXED);
		goto out;
	}
	/* Blocked in a system call it made itself that the kernel does not
	 * restart, ended by this signal: made again, as a restart would
	 * (rt/handoff.c). */
	if (!owed)
		evs_handoff_redo(w, ucv, false);
	/* Blocked in a system call it made itself: made elsewhere, the
	 * worker is free for the others until it returns. */
	if (evs_handoff_syscall(ucv)) {
		evs_sig_frame_renew(ucv, kgen);
		goto out;
	}
	if (evs_sched_housekeeping(w)) {
		w->st[EVS_ST_preempts]++;
		/* With this frame on its own stack, t may move meanwhile
		 * (sched.c): then the frame is made this thread's. */
		bool own = own_stack(t, (uintptr_t)ucv);
		t->preempt_uc = own ? ucv : NULL;
		/* a task that may move now: the next pick looks, whatever
		 * an earlier look that found none left to wait (sched.c) */
		if (own)
			w->share_skip = 0;
		evs_task_yield();  /* back here when it is this task's turn */
		t->preempt_uc = NULL;
		if (own && evs_self != w)
			frame_here(ucv);
		evs_sig_frame_renew(ucv, kgen);
	}
out:
	if (in)
		in->sigframes--;
	errno = saved;
}

/* The main task's stack: below where the kernel put the arguments, as far
 * as RLIMIT_STACK lets it grow (evs_monitor_init). */
static uintptr_t main_stack_lo, main_stack_hi;

/* Is sp on t's own stack (its mapping, or the one the program gave
 * pthread_attr_setstack; main's: the process stack)? */
static bool own_stack(const struct evs_task *t, uintptr_t sp)
{
	if (t == &evs_main_task)
		return sp >= main_stack_lo && sp < main_stack_hi;
	uintptr_t lo = (uintptr_t)t->stack_lo;
	return sp >= lo && sp < lo + t->stack_size;
}

void evs_monitor_stack_of(const struct evs_task *t, uintptr_t *lo, uintptr_t *hi)
{
	if (t == &evs_main_task) {
		extern void *__libc_stack_end;  /* what lies above it is not frames */
		*lo = main_stack_lo;
		*hi = (uintptr_t)__libc_stack_end;
	} else {
		*lo = (uintptr_t)t->stack_lo;
		*hi = *lo + t->stack_size;
	}
}

enum evs_at evs_monitor_classify(const struct evs_task *t, ucontext_t *uc)
{
	uintptr_t lo, hi;
	evs_monitor_stack_of(t, &lo, &hi);
	return evs_safepoint_classify(uc, t == &evs_main_task, lo, hi);
}

/* A task interrupted on a stack that is not its own (own_stack): a
 * preemption is refused there, a signal owed is delivered. */
static void foreign_body(void *ucv)
{
	int saved = errno;
	struct evs_worker *w = evs_self;
	struct evs_task *t = w->cur;
	__atomic_store_n(&w->ipi_at, 0, __ATOMIC_SEQ_CST);
	t->sigframes++;
	evs_sig_on_ipi(w, ucv);
	t->sigframes--;
	if (__atomic_exchange_n(&w->preempt_req, 0, __ATOMIC_ACQ_REL)) {
		w->st[EVS_ST_preempt_refused]++;
		__atomic_store_n(&w->yield_owed, 1, __ATOMIC_RELAXED);
	}
	errno = saved;
}

/* The handler runs on the worker's alternate stack (SA_ONSTACK): a
 * program may run code with %rsp pointing into memory that is no thread
 * stack and have every handler of its own run on an alternate stack so
 * that no signal frame is written below it (Erlang's JIT runs on each
 * Erlang process's stack, a few hundred bytes in its heap). Interrupted
 * on its own stack, the task gets the frame copied there, below the red
 * zone, and the handler goes on there (it may yield, and the alternate
 * stack is the worker's); on any other stack a preemption is refused
 * (the task yields on its way out of its next hooked call), and a signal
 * owed is delivered here, on the alternate stack, where the program's
 * handlers with SA_ONSTACK would run natively. */
static void on_preempt(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	int saved = errno;
	ucontext_t *uc = ucv;
	struct evs_worker *w = evs_self;
	if (!w) {
		/* a pool thread's call a signal for its task ends (offload.h
		 * evs_offload_intr): out of the window with -EINTR. Only
		 * there: a thread with no worker known (a single task's lone
		 * wait before the runtime started, a stack walk) is left as
		 * it was (CPython's test_eintr died of SIGALRM otherwise) */
		if (evs_offload_intr_running())
			evs_window_bail(uc);
		goto out;
	}
	evs_sig_entered();
	/* a signal given to a lone task about to wait in the kernel: the
	 * wait does not begin (lonewait.c) */
	evs_window_bail(uc);
	struct evs_task *t = w->cur;
	if (!t) {  /* the scheduler: nothing to move */
		preempt_body(ucv);
		goto out;
	}
	uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	if (!own_stack(t, sp)) {
		/* A handler delivered here may wait (SBCL's stop-for-GC
		 * handler waits for the collection), and the worker's
		 * alternate stack is not the task's: the next signal the
		 * kernel gives this worker while another task or the
		 * scheduler runs is written at its top, over this frame and
		 * the handler's. The task's own alternate stack, when it set
		 * one, takes the frame instead (SBCL's threads run Lisp on
		 * stacks of their own, each with its sigaltstack). Not when
		 * the task was interrupted on the worker's alternate stack
		 * (the runtime's handler of a program signal, or a handler
		 * run there): the frames above this one there are in use
		 * anyway, and a handler of the task may be running at the top
		 * of its own alternate stack, which the copy would overwrite
		 * (the 1 us timer of tests/progs/timer_flood.c, its handler
		 * re-arming it: SIGSEGV). Signals nest below it here. */
		stack_t *a = &t->sig.alt;
		if (a->ss_size && evs_sig_owed(w) && !own_stack(t, (uintptr_t)ucv) &&
		    !evs_sigframe_nested(uc)) {
			uintptr_t lo = (uintptr_t)a->ss_sp, top = lo + a->ss_size;
			errno = saved;
			evs_sigframe_move(uc, sp - lo < a->ss_size ? sp - 128 : top, 0, foreign_body, false);
		}
		foreign_body(ucv);
		goto out;
	}
	if (own_stack(t, (uintptr_t)ucv)) {  /* no alternate stack: here */
		preempt_body(ucv);
		goto out;
	}
	errno = saved;
	evs_sigframe_move(uc, sp - 128, 0, preempt_body, t == &evs_main_task);  /* returns only if it cannot */
	preempt_body(ucv);
out:
	errno = saved;
}

void evs_monitor_owed_yield(struct evs_task *t)
{
	struct evs_worker *w = t->w;
	if (!__atomic_exchange_n(&w->yield_owed, 0, __ATOMIC_RELAXED) || evs_vfork_child ||
	    evs_self != w || w->cur != t)
		return;
	if (evs_sched_housekeeping(w)) {
		w->st[EVS_ST_preempts]++;
		evs_task_yield();
	}
}

/* --- the watchdog ------------------------------------------------------ */

static pthread_t monitor;
static int running;

/* Slow mode: a nudge sends the runtime's signal to the monitor's thread,
 * which blocks it and waits for it (no lost wake-up: one sent before the
 * sleep stays pending and ends it at once). */
int evs_monitor_slow;
static int monitor_tid;

void evs_monitor_nudge_slow(void)
{
	/* A process's only task has nothing waiting behind it: it needs no
	 * tick (a PostgreSQL backend, an nginx worker: each wake-up of the
	 * task cost a wake-up of the monitor thread, about 6 system calls
	 * and 2 context switches). A second task's start nudges. */
	if (__atomic_load_n(&evs_live_tasks, __ATOMIC_ACQUIRE) <= 1)
		return;
	if (!__atomic_exchange_n(&evs_monitor_slow, 0, __ATOMIC_ACQ_REL))
		return;
	int tid = __atomic_load_n(&monitor_tid, __ATOMIC_ACQUIRE);
	if (tid > 0)
		evs_sys3(SYS_tgkill, evs_sys3(SYS_getpid, 0, 0, 0), tid, EVS_SIG_PREEMPT);
}

static void monitor_sleep(int64_t ns, bool slow)
{
	struct timespec ts = { ns / 1000000000, ns % 1000000000 };
	/* rt_sigtimedwait for the nudge's signal (the thread blocks them
	 * all), not nanosleep or a futex, which the kernel restarts after a
	 * stop of the process: this sleep ends with EINTR once the process
	 * is continued, as the program's epoll_wait does natively, and the
	 * tasks parked in one are told (rt/signal.h). */
	uint64_t set = 1ull << (EVS_SIG_PREEMPT - 1);
	if (slow)
		__atomic_store_n(&evs_monitor_slow, 1, __ATOMIC_SEQ_CST);
	long nv = evs_stop_watch();
	int64_t slept_at = nv >= 0 ? evs_stop_mark() : 0;
	evs_sys6(SYS_rt_sigtimedwait, &set, 0, &ts, sizeof(set), 0, 0);
	if (slow)
		__atomic_store_n(&evs_monitor_slow, 0, __ATOMIC_RELAXED);
	/* The sleep is one voluntary switch (this call sleeps at most once);
	 * a second is a stop, whether the sleep ended with EINTR or had timed
	 * out while the thread waited for a CPU */
	if (evs_stop_seen(nv))
		evs_sig_stopped(slept_at);
}

static void stall_ended(struct evs_worker *w, int64_t now)
{
	__atomic_store_n(&w->stalled, 0, __ATOMIC_RELAXED);
	uint64_t ms = (uint64_t)((now - w->stall_start) / 1000000);
	evs_stat_add_slow(EVS_ST_stall_ms_total, ms);
	evs_stat_max_slow(EVS_ST_stall_ms_max, ms);
}

static void preempt(struct evs_worker *w, int64_t now)
{
	w->mon_signalled = now;
	evs_handoff_note(w);  /* the call it is blocked in, if any */
	__atomic_store_n(&w->preempt_req, 1, __ATOMIC_SEQ_CST);
	if (evs_monitor_ipi(w))
		evs_stat_add_slow(EVS_ST_preempt_signals, 1);
}

/* A mark older than this is forgotten: a signal that never reached its
 * handler (taken away at an exec that then failed, or lost with a vfork
 * child's exec) must not silence the worker for good. */
#define EVS_IPI_STALE_NS EVS_STALL_NS
/* The runtime's signal is still pending on w's thread (the kernel's
 * thread-directed pending set, /proc/self/task/TID/status): it has not
 * been lost, only not delivered yet, as when its thread waits for a CPU
 * on a loaded machine. Asked only of a mark gone stale. */
static bool still_pending(struct evs_worker *w)
{
	int tid = __atomic_load_n(&w->ktid, __ATOMIC_RELAXED);
	char path[64] = "/proc/self/task/", digits[16], buf[2048];
	if (tid <= 0)
		return false;
	int nd = 0, len = (int)strlen(path);
	for (; tid; tid /= 10)  /* no snprintf: this may run in a signal handler */
		digits[nd++] = (char)('0' + tid % 10);
	while (nd)
		path[len++] = digits[--nd];
	memcpy(path + len, "/status", 8);
	const char *v = evs_proc_status_field(path, "SigPnd", buf, sizeof(buf));
	return v && (strtoull(v, NULL, 16) & (1ULL << (EVS_SIG_PREEMPT - 1)));
}

bool evs_monitor_ipi(struct evs_worker *w)
{
	int64_t now = evs_now_ns();
	int64_t at = __atomic_load_n(&w->ipi_at, __ATOMIC_SEQ_CST);
	do {
		if (at && now - at < EVS_IPI_STALE_NS)
			return false;  /* one on its way: its handler reads our post */
		/* But a stale mark whose signal is still pending was not lost:
		 * its thread has not run (waiting in vfork for its child, or
		 * for a CPU on a loaded machine). Another would queue behind
		 * it (a real-time signal), and the handler runs with
		 * SA_NODEFER, so the kernel would stack every queued one on
		 * the alternate stack before the first handler ran a single
		 * instruction (stunnel and CPython died of SIGSEGV so). The
		 * mark is renewed instead. Counting the signals sent and the
		 * handlers begun, without the look, missed the handlers that
		 * run where the worker is not known (evs_self cleared around
		 * a vfork's system call or a stack walk; the kernel delivers on
		 * the way out of vfork): the worker was never signalled
		 * again and a busy task starved the rest (CPython's
		 * test_hang_global_shutdown_lock hung). */
		if (at && still_pending(w)) {
			__atomic_compare_exchange_n(&w->ipi_at, &at, now, false, __ATOMIC_SEQ_CST,
						    __ATOMIC_SEQ_CST);
			return false;
		}
	} while (!__atomic_compare_exchange_n(&w->ipi_at, &at, now, false, __ATOMIC_SEQ_CST,
					      __ATOMIC_SEQ_CST));
	REAL(pthread_kill)(w->thread, EVS_SIG_PREEMPT);
	return true;
}

static void *monitor_main(void *arg)
{
	(void)arg;
	int64_t tick = EVS_MONITOR_TICK_NS;
	bool slow = false;
	__atomic_store_n(&monitor_tid, (int)evs_sys3(SYS_gettid, 0, 0, 0), __ATOMIC_RELEASE);
	for (;;) {
		monitor_sleep(tick, slow);
		int64_t now = evs_now_ns();
		int n = __atomic_load_n(&evs_nworkers, __ATOMIC_ACQUIRE), stalled = 0, live = 0;
		int running = 0;
		bool attention = false;  /* a running task may need the 1 ms tick */
		int64_t due_min = INT64_MAX;
		for (int i = 0; i < n; i++) {
			struct evs_worker *w = &evs_workers[i];
			if (__atomic_load_n(&w->retired, __ATOMIC_ACQUIRE))
				continue;
			live++;
			uint64_t sw = __atomic_load_n(&w->st[EVS_ST_switches], __ATOMIC_RELAXED);
			struct evs_task *cur = __atomic_load_n(&w->cur, __ATOMIC_RELAXED);
			if (__atomic_load_n(&w->lone_wait, __ATOMIC_RELAXED))
				cur = NULL;  /* waits in the kernel with nothing behind it */
			running += cur != NULL;
			/* every worker's timers: an idle one may start a long
			 * task before its own timer is due */
			int64_t next = __atomic_load_n(&w->timers.next_due, __ATOMIC_RELAXED);
			due_min = next < due_min ? next : due_min;
			if (cur) {
				if (__atomic_load_n(&w->pollwaits, __ATOMIC_RELAXED) || evs_sig_owed(w) ||
				    evs_runq_has_local(&w->rq) || !evs_runq_inbox_empty(&w->rq) ||
				    __atomic_load_n(&w->nfresh, __ATOMIC_RELAXED))
					attention = true;
			}
			if (cur && evs_sig_owed(w)) {
				/* a program signal its running task has not taken
				 * yet (it was inside the runtime when it came):
				 * interrupt it again, once a tick */
				evs_safepoint_unwind_setup();
				evs_safepoint_refresh();
				__atomic_store_n(&w->sig_ipi, 1, __ATOMIC_SEQ_CST);
				evs_monitor_ipi(w);
			}
			if (!cur || sw != w->mon_seen) {
				if (w->stalled)
					stall_ended(w, now);
				w->mon_seen = sw;
				w->mon_since = now;
				continue;
			}
			/* Work waiting behind the running task: a ready task, a
			 * wake-up, a new task, a due timer (racy reads of the
			 * owner's words: hints, checked again by the handler on
			 * the owner), or an event in its epoll set while a task
			 * waits on what that set reports (a task parked on a pipe
			 * or socket wakes only when this worker looks; asked, with
			 * a system call, only when the signal would go now). The
			 * signal goes only where it can do something: a worker
			 * with nothing behind its task is left alone, so an idle
			 * server (or a program in pause) gets no signal from us. */
			bool fresh = __atomic_load_n(&w->nfresh, __ATOMIC_RELAXED) != 0;
			bool pending = evs_runq_has_local(&w->rq) || !evs_runq_inbox_empty(&w->rq) ||
				       fresh || __atomic_load_n(&w->timers.next_due, __ATOMIC_RELAXED) <= now;
			int64_t quiet = now - w->mon_since;
			int64_t gap = quiet < EVS_STALL_NS ? EVS_PENDING_NS : EVS_STALL_NS;
			bool due = quiet >= EVS_PENDING_NS && now - w->mon_signalled >= gap;
			if (due && !pending && __atomic_load_n(&w->pollwaits, __ATOMIC_RELAXED))
				pending = evs_poller_has_events(__atomic_load_n(&w->epfd, __ATOMIC_RELAXED));
			if (quiet < EVS_STALL_NS) {
				if (pending && due) {
					evs_safepoint_unwind_setup();
					evs_safepoint_refresh();
					preempt(w, now);
				}
				continue;
			}
			stalled++;
			if (!w->stalled) {
				__atomic_store_n(&w->stalled, 1, __ATOMIC_RELAXED);
				w->stall_start = now;
				evs_stat_add_slow(EVS_ST_stalls, 1);
			}
			/* Its new tasks need not wait: an idle worker steals
			 * them from a stalled one (sched.c). */
			if (fresh)
				evs_sched_wake_thief(w);
			if (pending && due) {
				evs_safepoint_unwind_setup();
				evs_safepoint_refresh();
				preempt(w, now);
			}
		}
		if (stalled == live && live < evs_config.max_workers && evs_sched_add_worker() == 0)
			evs_stat_add_slow(EVS_ST_workers_added, 1);
		evs_dump_check_deadlock(now);
		/* Nothing running anywhere (an idle server, a program in
		 * pause): look less often, up to EVS_MONITOR_IDLE_NS, so an
		 * idle process costs few wake-ups; back to every tick as soon
		 * as a task runs. */
		slow = false;
		if (running && attention) {
			tick = EVS_MONITOR_TICK_NS;
		} else if (running) {  /* busy, nothing behind: see the top */
			tick = tick * 2 < EVS_STALL_NS ? tick * 2 : EVS_STALL_NS;
			if (due_min != INT64_MAX && due_min - now < tick)
				tick = due_min - now > EVS_MONITOR_TICK_NS ? due_min - now
									   : EVS_MONITOR_TICK_NS;
			slow = tick > EVS_MONITOR_TICK_NS;
		} else if (__atomic_load_n(&evs_live_tasks, __ATOMIC_ACQUIRE) <= 1) {
			/* one task, waiting: nothing to watch until it runs or
			 * a second one starts (which nudges) */
			tick = tick * 2 < EVS_MONITOR_LONE_NS ? tick * 2 : EVS_MONITOR_LONE_NS;
			slow = true;
		} else {
			tick = tick * 2 < EVS_MONITOR_IDLE_NS ? tick * 2 : EVS_MONITOR_IDLE_NS;
		}
	}
	return NULL;
}

void evs_monitor_init(void)
{
	evs_safepoint_init();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_preempt;
	/* SA_NODEFER: the handler may switch tasks and not come back for a
	 * while; the signal must stay deliverable to the worker meanwhile. */
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	REAL(sigaction)(EVS_SIG_PREEMPT, &sa, NULL);
	extern void *__libc_stack_end;
	struct rlimit rl;
	uintptr_t room = 8u << 20;
	if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > room)
		room = rl.rlim_cur;
	main_stack_hi = (uintptr_t)__libc_stack_end + 4096;
	main_stack_lo = main_stack_hi > room + 65536 ? main_stack_hi - room - 65536 : 0;
	evs_monitor_worker_start();
}

void evs_monitor_worker_start(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, EVS_SIG_PREEMPT);
	REAL(pthread_sigmask)(SIG_UNBLOCK, &s, NULL);
}

/* exec keeps a thread's pending signals and resets its handlers: the
 * runtime's signal, sent to the exec'ing worker by the monitor (or as an
 * IPI) while exec runs, would reach the new program at its first
 * instruction with the default action, which ends it (rustup's cargo
 * proxy execs the real cargo: 3 runs in 30 ended by SIGRTMAX-1). So it is
 * blocked across exec and what came before is taken away; the runtime of
 * the new program (evs_monitor_init) unblocks it once its handler is in
 * place. */
void evs_monitor_exec_mask(sigset_t *m)
{
	sigaddset(m, EVS_SIG_PREEMPT);
}

void evs_monitor_exec_drain(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, EVS_SIG_PREEMPT);
	struct timespec zero = { 0, 0 };
	while (evs_sys6(SYS_rt_sigtimedwait, &s, 0, &zero, _NSIG / 8, 0, 0) == EVS_SIG_PREEMPT)
		;
	struct evs_worker *w = evs_self;
	if (w)  /* what was taken away is owed again: the next request sends */
		__atomic_store_n(&w->ipi_at, 0, __ATOMIC_SEQ_CST);
}

void evs_monitor_exec_failed(void)
{
	evs_monitor_worker_start();
}

void evs_monitor_start(void)
{
	if (!evs_config.monitor || __atomic_exchange_n(&running, 1, __ATOMIC_ACQ_REL))
		return;
	if (evs_kthread_spawn(&monitor, monitor_main, NULL, true) < 0) {
		static int said;
		running = 0;
		if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
			evs_log(EVS_LOG_WARN, "cannot start the monitor (tried again with each "
				"new thread)");
	}
}

bool evs_monitor_running(void)
{
	return __atomic_load_n(&running, __ATOMIC_ACQUIRE);
}

void evs_monitor_atfork_child(void)
{
	running = 0;  /* the watchdog stayed in the parent; started anew */
	monitor_tid = 0;
	evs_monitor_slow = 0;
}
