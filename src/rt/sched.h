/* Workers and their run queues. See the design comment at the top of
 * sched.c for the protocol. */
#ifndef EVS_SCHED_H
#define EVS_SCHED_H
#include "../evs.h"
#include "task.h"
#include "runq.h"
#include "timer.h"
#include "../obs/stats.h"
#include <ck_stack.h>
#include <pthread.h>

struct evs_worker {
	/* Owner only (the worker's own kernel thread). */
	struct evs_task *cur;        /* running task, NULL in the scheduler */
	struct evs_ctx sched;        /* the scheduler loop's context */
	struct evs_runq rq;          /* local FIFO owner-only; inbox any thread */
	struct evs_task *dead;       /* exited, still on its stack */
	struct evs_task *handover;   /* picked by a parking task, to run next from the loop */
	struct evs_timers timers;
	unsigned hops;               /* direct task-to-task switches */
	unsigned fresh_turn;         /* alternates the run queue and new tasks */
	unsigned share_skip;         /* picks before the next look for tasks to move */
	void *tp;                    /* this thread's thread pointer (tls.h) */
	struct evs_task *tls_owner;  /* whose TLS copy is resident */
	int64_t last_run;            /* when the loop last ran a task (spares) */
	uint64_t st[EVS_ST__N];      /* counters (obs/stats.h) */
	uint64_t kgen_seen;          /* the signal mask K applied here (rt/signal.h) */
	struct evs_siginbox sigin;   /* signals its handler noted inside the runtime */
	int noted_blocked;           /* a noted signal is blocked on this thread until
	                              * routed (evs_sig_worker_poll puts K back) */
	int sig_moved;               /* the signal whose frame the runtime's handler
	                              * moves to the task's alternate stack, read
	                              * on the copy (every signal still blocked) */
	uint8_t sigfd_armed;         /* the process signalfd is in epfd */
	uint64_t parks_by[EVS_WAIT__N];  /* parks per cause */
	unsigned sig_entries;        /* the runtime's signal handlers begun on this
	                              * thread (evs_sig_entered) */

	/* Any thread. */
	int sleeping;                /* atomic: 1 while in (or about to enter) epoll_wait */
	int lone_wait;               /* atomic: its task, the process's only one, waits
	                              * in the kernel itself (rt/lonewait.c): to the
	                              * monitor, this worker is idle */
	int stalled;                 /* atomic: set and cleared by the monitor */
	int ntasks;                  /* atomic: live tasks whose home this is */
	int fresh_lock;              /* protects fresh */
	struct evs_queue fresh;      /* new tasks that have not run: stealable */
	int nfresh;                  /* atomic: their count, read without the lock */
	int retired;                 /* atomic: a spare worker that has left */
	int sig_ipi;                 /* atomic: a signal or a new K waits for it */
	int preempt_req;             /* atomic: the monitor asks it to preempt */
	int yield_owed;              /* atomic: a preemption found the shim or
	                              * libc on the task's stack; the task
	                              * yields when its hook returns (evs_ret) */
	int64_t ipi_at;              /* atomic: when the runtime's signal was sent
	                              * to it and not yet taken (0: none);
	                              * evs_monitor_ipi */
	int gone;                    /* atomic: its thread has ended (slot free) */
	int pollwaits;               /* atomic: its tasks parked on what only its
	                              * epoll set reports (fds, poll, sigwait's
	                              * doorbell, file completions); written by
	                              * the owner, read by the monitor */

	/* The monitor's own (rt/monitor.c). */
	uint64_t mon_seen;
	int64_t mon_since, mon_signalled, stall_start;
	/* The system call its thread was blocked in when the monitor last
	 * signalled it (rt/handoff.h, evs_handoff_note): number and six
	 * arguments, the user sp and pc; written by the monitor, read by
	 * the handler. intr_gen is odd while it is written, intr_call[0]
	 * is -1 when there was none. */
	uint32_t intr_gen;
	long intr_call[7];
	uintptr_t intr_sp, intr_pc;

	/* Set once at start-up. */
	int id;
	int spare;                   /* added by the monitor; may retire */
	int epfd;                    /* this worker's epoll set */
	struct evs_uring *uring;     /* its io_uring, made on first use */
	struct evs_aio *aio;         /* its Linux AIO context, made on first use */
	uint8_t no_uring, no_aio;    /* making one failed: do not ask again */
	int evfd;                    /* eventfd in epfd: the cross-worker poke */
	pthread_t thread;
	int ktid;                    /* its kernel thread id (the monitor's look at its pending signals) */
	void *sched_stack;           /* worker 0's scheduler stack */
	void *copy_buf;              /* small sendfile pieces (rt/sendfile.c), made on first use */
	ucontext_t sched_uc;
} __attribute__((aligned(64)));

extern struct evs_worker evs_workers[];
extern int evs_nworkers;
extern uint64_t evs_live_tasks;
extern struct evs_task evs_main_task;
extern int evs_pollers_live;        /* atomic: the runtime has started */

static inline void evs_stat_add(enum evs_stat s, uint64_t n)
{
	struct evs_worker *w = evs_self;
	if (EVS_LIKELY(w != NULL))
		w->st[s] += n;
	else
		evs_stat_add_slow(s, n);
}

/* The task running on this kernel thread, or NULL (not a worker, or the
 * worker's scheduler itself is running). The test every hook makes. */
static inline struct evs_task *evs_current(void)
{
	struct evs_worker *w = evs_self;
	return w ? w->cur : NULL;
}

/* Life cycle (rt/worker.c). */
void evs_sched_init(void);           /* at load: worker 0 = this thread */
/* Lazily, at the first park or pthread_create: the pollers, worker 0's
 * scheduler stack, the other workers. evs_pollers_live is set last. */
void evs_sched_start_slow(void);
static inline void evs_sched_start(void)
{
	if (EVS_UNLIKELY(!__atomic_load_n(&evs_pollers_live, __ATOMIC_ACQUIRE)))
		evs_sched_start_slow();
}
void evs_sched_atfork_child(void);
/* The process's only task waits in the kernel itself, as natively, in
 * poll, select or the program's epoll_wait (rt/lonewait.c): one system
 * call instead of a look, a park in its worker's epoll set and a second
 * look, and no runtime started for it. evs_lone_may_wait: the caller is
 * the process's only task, nothing else is queued or due on its worker
 * before `deadline`. evs_lone_syscall: the
 * call, made so that a signal for the task that comes before the kernel
 * is entered ends it too (-EINTR, the signal routed to the task; the
 * caller runs its handlers and decides). */
bool evs_lone_may_wait(int64_t deadline);
/* First thing in each of the runtime's signal handlers that can land on a
 * worker: a lone wait's -EINTR with no handler begun meanwhile is the
 * kernel's own (a stop and continue, a tracer), which the program sees. */
static inline void evs_sig_entered(void)
{
	struct evs_worker *w = evs_self;
	if (w) {
		w->sig_entries++;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
	}
}
long evs_lone_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
/* A task that is not alone makes a call it knows ends within microseconds
 * (a wait for a child already exiting: rt/child.c) in the kernel the same
 * way, inside the window: a signal for it ends the call (-EINTR, the
 * caller runs its handlers and decides). Its worker stays busy to the
 * monitor, so a call that lasts after all counts as a stall. x86-64 only
 * (evs_window_usable). */
long evs_brief_syscall(long nr, long a0, long a1, long a2, long a3);
/* The same, also ended by a signal queued for the task that it blocks
 * but waits for (`also`, signal bits: sigwait's set). */
long evs_lone_syscall_also(uint64_t also, long nr, long a0, long a1, long a2, long a3, long a4,
			   long a5);
/* A call the runtime would hand to a file backend or the blocking pool
 * (a read that misses the page cache, an fdatasync, an open the dentry
 * cache cannot answer, a name lookup) is made on the spot when the
 * process has one task and nothing else waits on its worker: nobody is
 * kept waiting, and a single-threaded process that only uses files never
 * gets the runtime's threads and fds (CPython's test_pass_fds_redirected
 * lists its child's fds; a page-cache miss there started the runtime).
 * evs_lone_runs: that is the case (true too before the runtime starts:
 * the process then has one thread, pthread_create starts it).
 * evs_lone_call: fn(arg) on the spot, the worker idle to the monitor. */
bool evs_lone_runs(void);
long evs_lone_call(long (*fn)(void *), void *arg);
/* The process is about to confine itself (seccomp): from now on it runs
 * without the runtime, every hook passing through, as long as it has one
 * task and the runtime has not started in it (no worker, monitor or
 * poller of its own: a forked child before its first park). 0 when it
 * left, -EBUSY when it cannot; evs_sched_rejoin undoes a leave whose
 * confinement failed. */
extern int evs_sched_left;
int evs_sched_leave(void);
void evs_sched_rejoin(void);
void evs_sched_ready(struct evs_task *t);   /* queue t on its worker */
int evs_sched_housekeeping(struct evs_worker *w);
/* A new task (placed by evs_sched_place) into its worker's fresh queue. */
void evs_sched_spawn(struct evs_task *t);
/* Wake one sleeping worker other than `not` to steal new tasks. */
bool evs_sched_wake_thief(struct evs_worker *not);
int evs_sched_add_worker(void);     /* a spare, for the monitor: 0 or -errno */
/* The scheduler loop of w (rt/sched.c); returns only when a spare retires. */
void evs_sched_loop(struct evs_worker *w);
struct evs_worker *evs_sched_place(void);   /* worker for a new task */
void evs_sched_switch_out(struct evs_task *t);  /* park path (task.c) */
EVS_NORETURN void evs_sched_exit_current(struct evs_task *t);
#endif
