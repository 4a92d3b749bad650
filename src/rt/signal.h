/* Signals per task, delivered as the kernel would (rt/signal.c).
 *
 * The program's view: every task has its own signal mask and its own
 * pending signals, and a signal's handler runs on the task that takes it
 * (its pthread_self, errno, __thread data), interrupting a parked call as
 * signal(7) says (EINTR, or a restart under SA_RESTART).
 *
 * The kernel's view: signals reach worker threads. Three rules tie the
 * two together:
 *   1. Dispositions: a signal the program handles gets the runtime's
 *      handler (evs_sig_entry) for real; SIG_DFL and SIG_IGN are set for
 *      real as the program set them, so the kernel's default actions
 *      (terminate, stop, ignore, child reaping) are exactly its own.
 *   2. Masks: every worker's kernel mask is K, the signals that EVERY task
 *      blocks. A signal some task does not block is never held back by the
 *      kernel; one that all tasks block stays pending in the kernel, as it
 *      would natively (for sigwait, sigpending, signalfd, and so that its
 *      default action does not fire). Tasks are grouped by identical masks
 *      (classes), so K changes only when a mask class appears or goes,
 *      never when a task is created (it inherits its creator's mask).
 *      While a worker sleeps, its thread blocks more: what all the tasks
 *      living on it block (evs_sig_sleep_bits), so that a process
 *      signal goes to the thread of a task that takes it.
 *   3. Routing: a signal that reaches the runtime's handler goes to a task
 *      that takes it: a task in sigwait for it; else, for one sent to the
 *      process, the main task if it does not block it, else the task that
 *      was running, else any task that does not; one sent to a task
 *      (pthread_kill, raise, tgkill of its gettid) goes to that task. It is
 *      queued on that task (standard signals once, real-time ones each
 *      time) and the task is made to take it: a parked task's wait ends
 *      with EVS_WAKE_SIGNAL, a running one is interrupted (the monitor's
 *      signal) and takes it as soon as it runs its own code.
 * The handler (evs_sig_entry) may run anywhere, also inside the runtime
 * with a lock held: there it only notes the signal in its worker's inbox
 * (no lock, no allocation) and the worker routes it at its next safe
 * point. Where it interrupted the program's own code it routes and
 * delivers at once. */
#ifndef EVS_SIGNAL_H
#define EVS_SIGNAL_H
#include "../evs.h"
#include "../list.h"
#include "timer.h"
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#define EVS_SIGMAX 64
typedef uint64_t evs_sigbits;        /* bit s - 1 for signal s */

static inline evs_sigbits evs_sigbit(int s)
{
	return 1ULL << (s - 1);
}
evs_sigbits evs_sigset_bits(const sigset_t *set);
void evs_bits_sigset(evs_sigbits bits, sigset_t *set);

struct evs_task;
struct evs_worker;

/* A task's signal state (in struct evs_task). */
struct evs_tasksig {
	evs_sigbits mask;        /* blocked (written by the task, under the lock) */
	evs_sigbits pend;        /* atomic: signals queued for it */
	struct evs_queue q;      /* their records, under the lock */
	evs_sigbits waiting;     /* in sigwait for these, under the lock */
	bool lone;               /* ... waiting in the kernel itself (the process's
				  * only task, rt/lonewait.c): a signal of them is
				  * queued and the worker kicked, not handed */
	siginfo_t handed;        /* a signal a router handed to its sigwait */
	int handed_sig;          /* its number, 0 when none */
	int cls;                 /* its mask class */
	struct evs_link all;     /* in the list of live tasks */
	int vtid;                /* what gettid() answers */
	bool gone;               /* out of the list (ending): takes nothing more,
				  * under the lock */
	stack_t alt;             /* its sigaltstack (ss_size 0: none): recorded only,
				  * the kernel's stays the worker's (rt/crash.c) */
};

/* A worker's inbox: signals its handler caught where the runtime could
 * not route them (inside the runtime). Written by the handler, read by
 * the same thread in normal context. */
#define EVS_SIG_INBOX 64
struct evs_siginbox {
	unsigned head, tail;     /* head: written by the handler; tail: by the reader */
	/* task: the id + 1 of the task it belongs to (a fault, the kernel's
	 * SIGPIPE or SIGXFSZ, a tgkill of the thread), 0 for the process */
	struct { int sig; uint64_t task; siginfo_t info; } e[EVS_SIG_INBOX];
};

void evs_sig_init(void);                       /* at load, on the main thread */
extern bool evs_sig_ready;                     /* set at the end of evs_sig_init */
void evs_sig_worker_start(struct evs_worker *w);  /* on a worker's thread */
void evs_sig_atfork_child(struct evs_task *cur);
/* This process's id, kept (glibc's getpid() is a system call each time):
 * set at load and in a fork()ed child. A child made another way (the
 * clone system call itself) keeps its parent's: compare, then confirm. */
extern int evs_sig_pid;

/* Tasks come and go (rt/task.c). */
void evs_sig_task_new(struct evs_task *t, struct evs_task *parent);
void evs_sig_task_gone(struct evs_task *t);

/* Something deliverable to t: queued and not blocked. */
static inline bool evs_sig_deliverable(const struct evs_tasksig *s)
{
	return __atomic_load_n(&s->pend, __ATOMIC_SEQ_CST) & ~s->mask;
}

/* Run the handlers of the current task's deliverable signals (in its
 * context). Returns EVS_SIG_RAN if a handler ran, | EVS_SIG_NORESTART if
 * one of them was installed without SA_RESTART (a call it interrupted
 * fails with EINTR; with SA_RESTART only, calls that restart go on). */
#define EVS_SIG_RAN 1
#define EVS_SIG_NORESTART 2
int evs_sig_run(void);
/* The same on the way out of sigsuspend, whose mask the current one is:
 * the mask grows with each handler run, as the kernel's frames nest, and
 * is restore once one ran. */
int evs_sig_run_through(evs_sigbits restore);
/* t is running on its worker: interrupt that worker (the runtime's
 * signal), so a call of the runtime's own it waits in may end (its
 * cancellation, rt/task.c). */
void evs_sig_kick_running(struct evs_task *t);
/* Run t's deliverable signals now, t interrupted at uc in its own code
 * on worker w (the runtime's signal handler): the first handler gets uc,
 * and a system call uc was set up to make again ends with -EINTR when a
 * handler that asked for no restarts ran, as the kernel would have done.
 * Returns what evs_sig_run does. */
int evs_sig_run_at(struct evs_worker *w, struct evs_task *t, ucontext_t *uc);
/* The verdict for a restartable call interrupted by a signal: run the
 * handlers, then true when the call must fail with EINTR. */
bool evs_sig_interrupts(void);

/* K changes bump this; each worker applies K when its own copy differs. */
extern uint64_t evs_sig_kgen;
/* A runtime handler's frame whose task waited inside it (a preemption's
 * yield, a handed-off call): sigreturn would put back the worker's mask
 * as it was when the signal came. If K changed meanwhile (gen_then: the
 * generation then), the frame gets K as it is now: with a site rewritten
 * meanwhile (rt/sitetrap.c), a mask from before still blocked SIGILL and
 * the task's next trap there ended the process. */
void evs_sig_frame_renew(ucontext_t *uc, uint64_t gen_then);

/* A spare worker the monitor has just made visible to K's changes
 * (evs_sched_add_worker: in evs_nworkers and not retired), gen_then the
 * generation read before its thread started. Its thread applied K as it
 * was when it started, before anyone changing K could see it: a change
 * in between reached every worker but this one, which then ran its tasks
 * under the K from before until its next scheduler round. A spare whose
 * task waited in the kernel meanwhile kept SIGILL blocked after a site
 * was rewritten, and that task's next trap there ended the process
 * (raw_futex_sites on one worker, about 1 run in 60). Such a change gets
 * it the runtime's signal now, as k_publish would have. */
void evs_sig_worker_published(struct evs_worker *w, uint64_t gen_then);

/* A spare worker leaving (rt/worker.c): its thread blocks every signal
 * (the kernel hands what is pending for the process to another thread)
 * and routes what its handler noted, so nothing stays in its inbox. */
void evs_sig_worker_leave(struct evs_worker *w);

/* The mask worker w's thread sleeps under (rt/sched.c, idle): what every
 * task living on w blocks (none: w has no task), less the signals never
 * blocked (the runtime's, glibc's own, the faults). False: sleep under
 * K (the same, or too many tasks to look at). A signal the kernel hands a
 * thread whose tasks all block it reaches its task only once that worker
 * has woken and routed it, and a sigwait elsewhere could return a signal
 * sent after it first (tests/progs/lone_sigwait.c started, other). With
 * such threads out of the kernel's choice while they sleep, the signal
 * goes to the thread of a task that takes it, as natively. Nothing is
 * kept from every thread: a task that does not block a signal keeps it
 * open on its own worker's thread, asleep (its mask is in the
 * intersection) or awake (K). */
bool evs_sig_sleep_bits(struct evs_worker *w, bool none, evs_sigbits *out);

/* The worker's chores: route what its handler noted, apply K. Owner only,
 * outside the runtime's locks. Cheap to call: it looks before it acts. */
void evs_sig_worker_poll(struct evs_worker *w);
/* The runtime's SIGILL handler in front of the program's action (returned
 * in behind), and SIGILL never blocked on the workers from now on
 * (rt/sitetrap.c). */
extern int evs_sitetrap_active;
void evs_sig_trap_sigill(const struct sigaction *ours, struct sigaction *behind);
static inline bool evs_sig_inbox_empty(const struct evs_siginbox *in)
{
	return __atomic_load_n(&in->head, __ATOMIC_RELAXED) == in->tail;
}

/* sigaction for the program: 0 or -errno. */
int evs_sig_action(int sig, const struct sigaction *act, struct sigaction *old);
/* sigprocmask for the current task; delivers what it unblocks before it
 * returns. 0 or -errno. */
int evs_sig_procmask(int how, const sigset_t *set, sigset_t *old);
/* The current task's mask swapped for `mask` (ppoll, pselect,
 * epoll_pwait, sigsuspend); returns the old one to put back. */
evs_sigbits evs_sig_swap_mask(evs_sigbits mask);
/* A signalfd for mask was made (hook/signal.c): the signals of mask that
 * every task blocks are held in the kernel from now on, where it reads. */
void evs_sig_signalfd_made(const sigset_t *mask);
/* Pending for the current task: its own, the process's. */
void evs_sig_pending(sigset_t *set);
/* Send sig to task t (pthread_kill, pthread_sigqueue, tgkill, raise);
 * info may be NULL (SI_TKILL from this process). 0 or -errno. */
int evs_sig_send(struct evs_task *t, int sig, const siginfo_t *info);

/* The current task has just sent a signal that may reach its own process
 * (kill, killpg, sigqueue, pidfd_send_signal). The kernel delivered it as
 * that call returned, inside the hook, where the runtime's handler could
 * only note it: route it now and run what the task may take, so that, as
 * kill(2) says, a signal it does not block has been handled before the
 * call returns. */
void evs_sig_sent(void);
/* kill or sigqueue of this process with a signal it catches: routed to a
 * task here, before the call returns, instead of by the kernel to some
 * worker's thread, which takes it only at that thread's next entry into
 * the kernel (a task that worker resumed meanwhile ran on without its
 * handler: tests/progs/kill_then_post.c). info NULL: kill's. EVS_USE_REAL
 * for what the kernel must do itself (a default action, an ignored
 * signal, SIGKILL, SIGSTOP). */
int evs_sig_kill_self(int sig, const siginfo_t *info);

/* sigwait, sigwaitinfo, sigtimedwait: the signal number, -EAGAIN at the
 * deadline, -EINTR (a handler for another signal ran), -ECANCELED. */
long evs_sig_wait(evs_sigbits set, siginfo_t *info, int64_t deadline);
/* sigsuspend, pause: always -EINTR (after a handler ran), or -ECANCELED. */
long evs_sig_suspend(evs_sigbits mask);
/* A stop of the process (SIGSTOP or another stop signal, then SIGCONT)
 * ends a thread's epoll_wait, epoll_pwait, sigwaitinfo and sigtimedwait
 * with EINTR on Linux (signal(7)); the others restart. The runtime hears
 * of a stop from its threads' own sleeps, which it ends too: the
 * monitor's, a worker's, a lone task's kernel wait (witnesses). Each
 * witness knows that the stop came after its sleep began (`slept_at`),
 * so a call begun before that was waiting at the stop; evs_stop_after is
 * the latest such moment heard of. evs_sig_stopped: a witness reports,
 * and the tasks parked with EVS_WAIT_STOPINTR are woken to compare. A
 * call that a stop ends notes when it began (evs_stop_mark) and asks
 * (evs_stop_since): a second witness of the same stop, late, does not
 * end a call begun after the first one's EINTR (its sleep began before
 * the stop, so before that call). */
extern int64_t evs_stop_after;
void evs_sig_stopped(int64_t slept_at);
static inline int64_t evs_stop_mark(void)
{
	return evs_now_ns();
}
static inline bool evs_stop_since(int64_t began)
{
	return __atomic_load_n(&evs_stop_after, __ATOMIC_SEQ_CST) >= began;
}
/* Tasks parked in such a call: while there are some, the monitor also
 * counts its own voluntary context switches across its sleep (a stop is
 * one more), so that a stop that came while its sleep had ended but the
 * thread waited for a CPU (the call then returns as if nothing came) is
 * heard of too. */
extern int evs_stop_waiters;
static inline void evs_stop_wait(int d)
{
	__atomic_add_fetch(&evs_stop_waiters, d, __ATOMIC_RELAXED);
}
/* The calling thread's voluntary context switches so far (-1: unknown);
 * a sleep is one, a stop one more. Read around a witness's sleep only
 * while a task waits in such a call (evs_stop_waiters): an EINTR alone
 * may be a handler that is not the runtime's (glibc's SIGSETXID, sent to
 * every thread by setuid). */
long evs_thread_nvcsw(void);
static inline long evs_stop_watch(void)
{
	return __atomic_load_n(&evs_stop_waiters, __ATOMIC_RELAXED) > 0 ? evs_thread_nvcsw() : -1;
}
static inline bool evs_stop_seen(long nv_before)
{
	return nv_before >= 0 && evs_thread_nvcsw() - nv_before >= 2;
}
/* The process signalfd fired on this worker: sigwaits look again. */
void evs_sig_kernel_pending(void);
/* Under evs_sig_lock: a task's sigwait for `set` begins (d 1) or ends
 * (d -1). Those of the set whose disposition is the kernel's are blocked
 * by every worker meanwhile (signal.c, waited). True when K changed: the
 * caller then calls evs_sig_k_publish once it has dropped the lock. */
bool evs_sig_wait_count(evs_sigbits set, int d);
void evs_sig_k_publish(void);

/* The monitor's signal arrived (rt/monitor.c): deliver to the running
 * task if it is at a point where it may take signals; apply K. */
void evs_sig_on_ipi(struct evs_worker *w, ucontext_t *uc);
/* For the monitor: the running task of w has a signal it has not taken. */
bool evs_sig_owed(struct evs_worker *w);

/* gettid of the current task; the task with that gettid (or NULL). */
int evs_sig_gettid(void);
struct evs_task *evs_sig_task_of_tid(int tid);
/* The kernel thread a thread id names: a task's number (above pid_max)
 * names the worker that task runs on; any other number is returned as it
 * is. For the calls that take a thread id and act on a kernel thread
 * (sched_setaffinity, sched_setattr, setpriority...). */
int evs_sig_kernel_tid(int tid);
#endif
