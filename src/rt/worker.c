/* Workers' life cycle, written once for every way a worker comes and
 * goes: the runtime's start (worker 0 is the main thread, the others are
 * started with it), a spare the monitor adds when every worker is stalled,
 * a spare that retires once the stall is over, and the rebuild in a
 * fork()ed child. Also the one way the runtime starts a kernel thread of
 * its own (workers, the blocking pool, the monitor). */
#include "../evs.h"
#include "kfutex.h"
#include "report.h"
#include "worker.h"
#include "sched.h"
#include "config.h"
#include "fdtab.h"
#include "fileio.h"
#include "monitor.h"
#include "offload.h"
#include "tls.h"
#include "safepoint.h"
#include "signal.h"
#include "crash.h"
#include "dump.h"
#include "../io/aio.h"
#include "../io/poller.h"
#include "../io/uring.h"
#include "netring.h"
#include "../libc/real.h"
#include <linux/futex.h>
#include "../libc/sys.h"
#include "../obs/log.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* A spare worker with nothing to do for this long retires. */
#define EVS_RETIRE_NS (1000 * 1000000LL)
/* Worker 0's scheduler stack: the loop itself is shallow, but a signal
 * handler of the program may run on it while the worker sleeps. */
#define EVS_SCHED_STACK (256UL << 10)

static int started;        /* atomic: 0 no, 1 starting, 2 running */

struct kthread_start {
	void *(*fn)(void *);
	void *arg;
};

/* Every runtime thread runs through here: the count behind the report's
 * kernel_threads_peak. */
static void *kthread_main(void *p)
{
	struct kthread_start k = *(struct kthread_start *)p;
	free(p);
	void *r = k.fn(k.arg);
	evs_kthread_count(-1);
	return r;
}

int evs_kthread_spawn(pthread_t *out, void *(*fn)(void *), void *arg, bool no_signals)
{
	pthread_t th;
	pthread_attr_t a;
	sigset_t all, old;
	struct kthread_start *k = malloc(sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->fn = fn;
	k->arg = arg;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (no_signals) {  /* the new thread inherits the mask it starts with */
		sigfillset(&all);
		REAL(pthread_sigmask)(SIG_SETMASK, &all, &old);
	}
	evs_kthread_count(1);
	int r = REAL(pthread_create)(out ? out : &th, &a, kthread_main, k);
	if (no_signals)
		REAL(pthread_sigmask)(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&a);
	if (!r)
		evs_tls_setxid_hook();
	if (r) {
		evs_kthread_count(-1);
		free(k);
	}
	return -r;
}

struct kthread_call {
	int (*fn)(void);
	int res;
	uint32_t done;  /* futex word */
};

static void *call_main(void *arg)
{
	struct kthread_call *c = arg;
	int res = c->fn();
	c->res = res;
	__atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
	/* c may be gone once done is seen: a stray wake is harmless */
	evs_sys6(SYS_futex, &c->done, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
	return NULL;
}

int evs_kthread_call(int (*fn)(void))
{
	struct kthread_call c = { fn, 0, 0 };
	if (evs_kthread_spawn(NULL, call_main, &c, true) != 0)
		return fn();
	while (!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE))
		evs_sys6(SYS_futex, &c.done, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0);
	return c.res;
}

/* A slot to its starting state: nothing queued, nothing open. Counters
 * (st, parks_by) are kept, so a reused slot adds to the process's totals. */
static void reset(struct evs_worker *w, int id, bool spare)
{
	w->id = id;
	w->spare = spare;
	w->cur = NULL;
	w->dead = NULL;
	w->handover = NULL;
	w->tls_owner = NULL;
	w->hops = 0;
	evs_runq_init(&w->rq);
	w->fresh = (struct evs_queue){ 0 };
	w->fresh_lock = 0;
	w->nfresh = 0;
	w->timers = (struct evs_timers){ .next_due = INT64_MAX };
	w->epfd = w->evfd = -1;
	w->uring = NULL;
	w->aio = NULL;
	w->no_uring = w->no_aio = 0;
	w->stalled = 0;
	w->sigfd_armed = 0;
	w->ipi_at = 0;
	w->kgen_seen = (uint64_t)-1;  /* applies K when it starts */
	w->sigin.head = w->sigin.tail = 0;
	w->last_run = evs_now_ns();
}

/* Give back what the worker opened: its epoll set and eventfd, its ring,
 * its AIO context. In a fork()ed child these are copies (the ring's
 * mappings, the epoll set) or not the child's at all (an AIO context). */
static void close_all(struct evs_worker *w, bool forked)
{
	evs_uring_free(w->uring);
	w->uring = NULL;
	if (forked)
		evs_aio_forget(w->aio);
	else
		evs_aio_free(w->aio);
	w->aio = NULL;
	int ep = w->epfd, ev = w->evfd;
	w->epfd = w->evfd = -1;
	evs_poller_close_fd(ep);  /* -1 is skipped */
	evs_poller_close_fd(ev);
}

static void *worker_main(void *arg)
{
	struct evs_worker *w = arg;
	evs_self = w;
	w->ktid = (int)evs_sys3(SYS_gettid, 0, 0, 0);
	evs_tls_worker_start(w);
	evs_monitor_worker_start();
	evs_sig_worker_start(w);
	evs_crash_thread_start();
	w->sched.uc = &w->sched_uc;
	evs_sched_loop(w);  /* returns when a spare retires */
	evs_tls_worker_stop(w);
	evs_crash_thread_end();
	__atomic_store_n(&w->gone, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int start_thread(struct evs_worker *w)
{
	return evs_kthread_spawn(&w->thread, worker_main, w, false);
}

/* --- placement and retirement: a two-sided handshake ------------------- */

/* Make w the home of one more task, unless it is retiring. The worker
 * sets `retired` before it checks ntasks, we raise ntasks before we check
 * `retired` (both seq_cst): one of us sees the other, so no task is ever
 * placed on a worker that has left. */
bool evs_worker_claim(struct evs_worker *w)
{
	__atomic_add_fetch(&w->ntasks, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&w->retired, __ATOMIC_SEQ_CST))
		return true;
	__atomic_sub_fetch(&w->ntasks, 1, __ATOMIC_SEQ_CST);
	return false;
}

/* A spare worker leaves when the stall that called for it is over: it is
 * home to no task, has run none for EVS_RETIRE_NS, and no worker is
 * stalled. Returns true when it has retired (the caller ends the thread). */
bool evs_worker_try_retire(struct evs_worker *w)
{
	if (!w->spare || evs_runq_has_local(&w->rq) || w->timers.n || !evs_runq_inbox_empty(&w->rq) ||
	    __atomic_load_n(&w->nfresh, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&w->ntasks, __ATOMIC_SEQ_CST) ||
	    evs_now_ns() - w->last_run < EVS_RETIRE_NS)
		return false;
	int n = __atomic_load_n(&evs_nworkers, __ATOMIC_ACQUIRE);
	for (int k = 0; k < n; k++)
		if (__atomic_load_n(&evs_workers[k].stalled, __ATOMIC_RELAXED))
			return false;
	__atomic_store_n(&w->retired, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&w->ntasks, __ATOMIC_SEQ_CST) || !evs_runq_inbox_empty(&w->rq)) {
		__atomic_store_n(&w->retired, 0, __ATOMIC_SEQ_CST);
		return false;  /* a task was placed here meanwhile */
	}
	/* No task can reach this worker any more. Its epoll set goes; the
	 * fds it held must be registered again by whoever uses the slot. */
	evs_fdtab_forget_worker(w->id);
	evs_sig_worker_leave(w);
	close_all(w, false);
	evs_stat_add(EVS_ST_workers_retired, 1);
	evs_log(EVS_LOG_INFO, "spare worker %d retired: no stall left, nothing to run", w->id);
	return true;
}

int64_t evs_worker_idle_limit(struct evs_worker *w, int64_t timeout)
{
	if (w->spare && (timeout < 0 || timeout > EVS_RETIRE_NS))
		return EVS_RETIRE_NS;  /* wake to see whether it may retire */
	return timeout;
}

/* A spare worker for the monitor, when every worker is stalled. Only the
 * monitor thread calls this; the new worker is published (evs_nworkers)
 * once it is whole. Returns 0 or -errno. */
int evs_sched_add_worker(void)
{
	int n = evs_nworkers, i;
	for (i = 0; i < n; i++)  /* a retired spare's slot, once its thread ended */
		if (__atomic_load_n(&evs_workers[i].gone, __ATOMIC_ACQUIRE))
			break;
	if (i == n && n >= EVS_MAX_WORKERS)
		return -EAGAIN;
	struct evs_worker *w = &evs_workers[i];
	reset(w, i, true);
	int r = evs_poller_init(&w->epfd, &w->evfd);
	if (r < 0)
		return r;
	evs_net_worker_init(w);
	__atomic_store_n(&w->gone, 0, __ATOMIC_RELAXED);
	/* K's generation before the thread starts: one that changes before
	 * the worker is published reaches it below (rt/signal.h) */
	uint64_t kgen = __atomic_load_n(&evs_sig_kgen, __ATOMIC_SEQ_CST);
	if ((r = start_thread(w)) < 0) {
		close_all(w, false);
		__atomic_store_n(&w->gone, i < n, __ATOMIC_RELAXED);
		return r;
	}
	__atomic_store_n(&w->retired, 0, __ATOMIC_SEQ_CST);  /* open for placement */
	if (i == n)
		__atomic_store_n(&evs_nworkers, n + 1, __ATOMIC_SEQ_CST);
	evs_sig_worker_published(w, kgen);
	evs_log(EVS_LOG_INFO, "spare worker %d added: every worker was stalled", i);
	return 0;
}

/* --- the runtime's start ------------------------------------------------ */

static void adopt_main_thread(struct evs_task *cur)
{
	struct evs_worker *w0 = &evs_workers[0];
	w0->thread = REAL(pthread_self)();
	w0->cur = cur;
	evs_self = w0;
	w0->ktid = (int)evs_sys3(SYS_gettid, 0, 0, 0);
	evs_tls_worker_start(w0);
}

void evs_sched_init(void)
{
	evs_nworkers = evs_config.workers;
	evs_switch_ucontext = evs_config.switch_ucontext;
	for (int i = 0; i < evs_nworkers; i++)
		reset(&evs_workers[i], i, false);
	evs_main_task.magic = EVS_TASK_MAGIC;
	evs_main_task.parked_on = -1;
	evs_main_task.w = &evs_workers[0];
	evs_main_task.refs = 2;  /* never freed */
	evs_main_task.started = 1;
	evs_main_task.ctx.uc = &evs_main_task.uc;
	strcpy(evs_main_task.name, "main");
	evs_live_tasks = 1;
	adopt_main_thread(&evs_main_task);
	/* main's copy is the one resident in the main thread's blocks; its
	 * save area is filled the first time another task comes in. */
	if (evs_tls_task_init(&evs_main_task) == 0)
		evs_workers[0].tls_owner = &evs_main_task;
	evs_sig_init();
	evs_crash_init();
	evs_dump_init();
}

static void sched_entry(void *arg)
{
	evs_sched_loop(arg);  /* worker 0 is never a spare: never returns */
	__builtin_unreachable();
}

/* Make the pollers, worker 0's scheduler context and the other workers.
 * Deferred to the first park or the first pthread_create so that a program
 * that never does either (a shell, `ls`) pays nothing for the shim. */
void evs_sched_start_slow(void)
{
	int expect = 0;
	if (__atomic_load_n(&started, __ATOMIC_ACQUIRE) == 2)
		return;
	if (!__atomic_compare_exchange_n(&started, &expect, 1, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&started, __ATOMIC_ACQUIRE) != 2)
			evs_cpu_relax();
		return;
	}
	evs_config_apply_quota();
	if (evs_config.workers < evs_nworkers)
		__atomic_store_n(&evs_nworkers, evs_config.workers, __ATOMIC_RELEASE);
	evs_fileio_choose();
	for (int i = 0; i < evs_nworkers; i++) {
		struct evs_worker *w = &evs_workers[i];
		int r = evs_poller_init(&w->epfd, &w->evfd);
		if (r < 0)
			evs_panic("cannot create the poller of worker %d: %s", i,
				  strerror(-r));
		evs_net_worker_init(w);
	}
	evs_safepoint_unwind_setup();
	struct evs_worker *w0 = &evs_workers[0];
	w0->sched_stack = mmap(NULL, EVS_SCHED_STACK, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
			       -1, 0);
	if (w0->sched_stack == MAP_FAILED)
		evs_panic("cannot map the scheduler stack");
	evs_ctx_make(&w0->sched, w0->sched_stack, EVS_SCHED_STACK, sched_entry,
		     w0, &w0->sched_uc);

	int n = 1;
	for (int i = 1; i < evs_nworkers; i++) {
		if (start_thread(&evs_workers[i]) < 0) {
			evs_log(EVS_LOG_WARN, "could not start worker %d; "
				"running on %d", i, n);
			close_all(&evs_workers[i], false);
			break;
		}
		n++;
	}
	evs_nworkers = n;
	evs_log(EVS_LOG_INFO, "runtime started: %d worker%s running tasks", n, n == 1 ? "" : "s");
	__atomic_store_n(&evs_pollers_live, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&started, 2, __ATOMIC_RELEASE);
	evs_monitor_start();
	evs_dump_start();
}

/* --- leaving: a process that confines itself -------------------------- */

/* A seccomp filter allows a few system calls and ends the process (or
 * fails the call) on any other: sshd's pre-authentication child allows
 * read, write, poll and a handful more, and the runtime's first park
 * (epoll_create1, a worker's clone, the monitor) would be fatal there.
 * Natively such a process is one thread making its own calls, so that is
 * what it becomes: the task keeps running on the kernel thread it is on,
 * and with evs_self cleared every hook sees a thread the runtime does not
 * own and makes the real call. Only possible while nothing of the
 * runtime's runs beside it. */
int evs_sched_left;
static struct evs_worker *left_from;

int evs_sched_leave(void)
{
	struct evs_worker *w = evs_self;
	if (!w || evs_vfork_child)
		return 0;
	if (__atomic_load_n(&started, __ATOMIC_ACQUIRE) != 0 ||
	    __atomic_load_n(&evs_live_tasks, __ATOMIC_ACQUIRE) != 1)
		return -EBUSY;
	left_from = w;
	evs_sched_left = 1;
	evs_self = NULL;
	return 0;
}

void evs_sched_rejoin(void)
{
	if (!evs_sched_left || evs_vfork_child)
		return;
	evs_self = left_from;
	evs_sched_left = 0;
}

/* fork(): the child has one kernel thread, the caller. It becomes worker 0
 * of a fresh runtime with the calling task as its only task; every other
 * task stayed in the parent. The pollers (shared epoll instances with the
 * parent) are dropped and made anew on the next park. */
void evs_sched_atfork_child(void)
{
	struct evs_worker *me = evs_self;
	struct evs_task *cur = me ? me->cur : NULL;
	evs_pollers_live = 0;
	for (int i = 0; i < evs_nworkers; i++) {
		struct evs_worker *w = &evs_workers[i];
		close_all(w, true);
		void *sched_stack = w->sched_stack;
		memset(w, 0, sizeof(*w));  /* a new process: its counters start at 0 */
		reset(w, i, false);
		w->sched_stack = sched_stack;
	}
	if (evs_workers[0].sched_stack)
		munmap(evs_workers[0].sched_stack, EVS_SCHED_STACK);
	evs_workers[0].sched_stack = NULL;
	evs_nworkers = evs_config.workers;
	started = 0;
	evs_fileio_atfork_child();
	evs_fdtab_atfork_child();
	evs_offload_atfork_child();
	evs_monitor_atfork_child();
	adopt_main_thread(cur);
	evs_workers[0].tls_owner = cur;  /* the resident copy is the forking task's */
	if (!cur)  /* forked from a thread the runtime does not own */
		evs_self = NULL;
	else
		cur->w = &evs_workers[0];
	evs_live_tasks = cur ? 1 : 0;
	evs_kfutex_waiting = 0;  /* those were the parent's tasks' */
	evs_report_atfork_child(evs_live_tasks);
	evs_sig_atfork_child(cur);
	evs_dump_atfork_child();
}
