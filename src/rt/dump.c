/* The task dump: every task, what it waits on and since when, and where
 * (a backtrace of its saved context).
 *
 * Triggers: the signal EVSHIM_DUMP names (the runtime keeps that signal
 * for itself; its handler only pokes the dump thread), and a deadlock the
 * monitor can prove (evs_dump_check_deadlock).
 *
 * A task's saved context is only a stable thing to walk while nobody can
 * resume it, so the dump stops the world first: it raises evs_dump_stop
 * and pokes every worker; a worker that reaches its scheduler holds there
 * (evs_dump_hold) until the dump is written. A worker that does not come
 * within EVS_DUMP_WAIT_NS is running a task (a long computation, a call
 * the shim cannot see): its tasks are listed without backtraces, since
 * any of them may run meanwhile. The dump is written by the dump thread
 * (a runtime thread, not a worker: hooks pass its calls through). */
#include "../evs.h"
#include "kfutex.h"
#include "dump.h"
#include "config.h"
#include "fdtab.h"
#include "report.h"
#include "safepoint.h"
#include "sched.h"
#include "signal.h"
#include "sigint.h"
#include "task.h"
#include "stack.h"
#include "timer.h"
#include "worker.h"
#include "../io/poller.h"
#include "../libc/real.h"
#include "../libc/sys.h"
#include "../obs/log.h"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EVS_DUMP_WAIT_NS (200 * 1000000LL)  /* for workers to reach their scheduler */
#define EVS_DUMP_FRAMES 24
#define EVS_DEADLOCK_QUIET_NS (1000 * 1000000LL)  /* all asleep this long first */

int evs_dump_stop;
static int held[EVS_MAX_WORKERS];   /* atomic: worker i holds for the dump */
static int dump_lock;               /* one dump at a time */
static int dump_evfd = -1;          /* the signal's doorbell */
static int thread_up;               /* atomic: the dump thread runs */

/* --- holding the workers ----------------------------------------------- */

void evs_dump_hold(struct evs_worker *w)
{
	__atomic_store_n(&held[w->id], 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&evs_dump_stop, __ATOMIC_SEQ_CST)) {
		struct timespec ts = { 0, 50 * 1000000L };
		evs_sys6(SYS_futex, &evs_dump_stop, FUTEX_WAIT_PRIVATE, 1, &ts, 0, 0);
	}
	__atomic_store_n(&held[w->id], 0, __ATOMIC_SEQ_CST);
}

static bool worker_live(const struct evs_worker *w)
{
	return !__atomic_load_n(&w->retired, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&w->gone, __ATOMIC_ACQUIRE);
}

/* Raise the stop and wait for the workers that can come. */
static void stop_world(int n)
{
	__atomic_store_n(&evs_dump_stop, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < n; i++)
		if (worker_live(&evs_workers[i]) && evs_workers[i].evfd >= 0)
			evs_poller_poke(evs_workers[i].evfd);
	int64_t until = evs_now_ns() + EVS_DUMP_WAIT_NS;
	for (;;) {
		int missing = 0;
		for (int i = 0; i < n; i++)
			if (worker_live(&evs_workers[i]) && !__atomic_load_n(&held[i], __ATOMIC_SEQ_CST))
				missing++;
		if (!missing || evs_now_ns() >= until)
			return;
		struct timespec ts = { 0, 1000000L };
		evs_sys3(SYS_nanosleep, &ts, 0, 0);
	}
}

static void start_world(void)
{
	__atomic_store_n(&evs_dump_stop, 0, __ATOMIC_SEQ_CST);
	evs_sys6(SYS_futex, &evs_dump_stop, FUTEX_WAKE_PRIVATE, INT32_MAX, 0, 0, 0);
}

/* --- one task ------------------------------------------------------------ */

struct out {
	char buf[8192];
	size_t n;
};

#define put(o, ...) evs_text_put((o)->buf, sizeof((o)->buf), &(o)->n, __VA_ARGS__)

static void flush(struct out *o)
{
	evs_text_write(2, o->buf, o->n);
	o->n = 0;
}

/* What the parked task waits on, in words. */
static void describe_wait(struct out *o, struct evs_task *t, int why, intptr_t obj, int64_t now)
{
	put(o, "parked %.3f s: %s", (double)(now - t->parked_since) / 1e9, evs_wait_name(why));
	switch (why) {
	case EVS_WAIT_fd_in:
	case EVS_WAIT_fd_out:
	case EVS_WAIT_file:
	case EVS_WAIT_lock: {
		struct evs_fd *f = evs_fd_get((int)obj);
		put(o, " on fd %d (%s)", (int)obj, f ? evs_fd_kind_name(f->kind) : "closed");
		break;
	}
	case EVS_WAIT_poll:
		put(o, " on %ld fds", (long)obj);
		break;
	case EVS_WAIT_join: {
		struct evs_task *j = (struct evs_task *)obj;
		put(o, " for task %llu", j ? (unsigned long long)j->id : 0ULL);
		break;
	}
	case EVS_WAIT_pool: {
		Dl_info di;
		if (obj && dladdr((void *)obj, &di) && di.dli_sname)
			put(o, " running %s", di.dli_sname);
		break;
	}
	case EVS_WAIT_sleep:
	case EVS_WAIT_signal:
	case EVS_WAIT_yield:
		break;
	default:  /* the lot: a lock, condition, semaphore... */
		put(o, " at %p", (void *)obj);
	}
	if (t->parked_until != INT64_MAX)
		put(o, ", until %+.3f s", (double)(t->parked_until - now) / 1e9);
}

static void dump_task(struct out *o, struct evs_task *t, bool walkable, int64_t now)
{
	struct evs_worker *w = t->w;
	int why = t->parked_on;
	put(o, "task %llu \"%s\" (tid %d), worker %d: ", (unsigned long long)t->id, t->name,
	    t->sig.vtid, w ? w->id : -1);
	bool running = w && __atomic_load_n(&w->cur, __ATOMIC_RELAXED) == t;
	if (running)
		put(o, "running");
	else if (!t->started && t != &evs_main_task)
		put(o, "new, not started yet");
	else if (why >= 0)
		describe_wait(o, t, why, t->parked_obj, now);
	else
		put(o, "ready to run");
	if (t->stack_size)
		put(o, "; stack %zu KiB", evs_stack_asked(t) >> 10);
	put(o, "\n");
	if (running || (!t->started && t != &evs_main_task))
		return;
	if (!walkable) {
		put(o, "    (no backtrace: worker %d is busy running a task, so this one may run "
		    "any moment)\n", w ? w->id : -1);
		return;
	}
	ucontext_t uc;
	evs_ctx_regs(&t->ctx, &uc);
	size_t room = sizeof(o->buf) - o->n;
	o->n += evs_backtrace(&uc, false, EVS_DUMP_FRAMES, o->buf + o->n, room);
}

/* --- the dump ------------------------------------------------------------ */

static void dump(const char *reason)
{
	if (__atomic_exchange_n(&dump_lock, 1, __ATOMIC_ACQUIRE))
		return;
	evs_safepoint_unwind_setup();
	int n = __atomic_load_n(&evs_nworkers, __ATOMIC_ACQUIRE);
	stop_world(n);
	int64_t now = evs_now_ns();
	struct out o = { .n = 0 };
	put(&o, "evshim[%d]: task dump (%s): %llu tasks, %d workers\n", getpid(),
	    reason, (unsigned long long)__atomic_load_n(&evs_live_tasks, __ATOMIC_RELAXED), n);
	for (int i = 0; i < n; i++) {
		struct evs_worker *w = &evs_workers[i];
		if (!worker_live(w))
			continue;
		struct evs_task *cur = __atomic_load_n(&w->cur, __ATOMIC_RELAXED);
		put(&o, "  worker %d%s: %s\n", i, w->spare ? " (spare)" : "",
		    held[i] ? "held for the dump" : cur ? "running a task (not stopped)" :
		    "did not answer");
	}
	flush(&o);
	evs_spin_lock(&evs_sig_lock);
	for (struct evs_link *l = evs_sig_tasks.head; l; l = l->next) {
		struct evs_task *t = evs_container_of(l, struct evs_task, sig.all);
		struct evs_worker *w = t->w;
		bool walkable = w && __atomic_load_n(&held[w->id], __ATOMIC_SEQ_CST);
		dump_task(&o, t, walkable, now);
		flush(&o);
	}
	evs_spin_unlock(&evs_sig_lock);
	put(&o, "evshim[%d]: end of task dump\n", getpid());
	flush(&o);
	start_world();
	__atomic_store_n(&dump_lock, 0, __ATOMIC_RELEASE);
}

/* --- the signal trigger --------------------------------------------------- */

static void on_dump_signal(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	int saved = errno;
	evs_sig_entered();
	if (dump_evfd >= 0 && __atomic_load_n(&thread_up, __ATOMIC_ACQUIRE)) {
		uint64_t one = 1;
		evs_sys_write(dump_evfd, &one, sizeof(one));
	} else {
		/* Before the runtime started there is one thread: running,
		 * or waiting in the kernel itself (rt/lonewait.c). */
		static const char msg[] = "evshim: task dump: the runtime has not started: "
					  "one thread (main), running or waiting in the kernel\n";
		evs_sys_write(2, msg, sizeof(msg) - 1);
	}
	(void)sig;
	errno = saved;
}

static void *dump_main(void *arg)
{
	(void)arg;
	char reason[48];
	snprintf(reason, sizeof(reason), "SIG%s", sigabbrev_np(evs_config.dump_sig) ?: "?");
	for (;;) {
		uint64_t v;
		long r = evs_sys_read(dump_evfd, &v, sizeof(v));
		if (r == -EINTR)
			continue;
		if (r < 0)
			return NULL;
		dump(reason);
	}
}

void evs_dump_init(void)
{
	if (!evs_config.dump_sig)
		return;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_dump_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
	sigfillset(&sa.sa_mask);
	REAL(sigaction)(evs_config.dump_sig, &sa, NULL);
}

void evs_dump_start(void)
{
	if (!evs_config.dump_sig || __atomic_load_n(&thread_up, __ATOMIC_ACQUIRE))
		return;
	if (dump_evfd < 0) {
		int fd = (int)evs_sys3(SYS_eventfd2, 0, EFD_CLOEXEC, 0);
		if (fd < 0 || (fd = evs_poller_hide_fd(fd)) < 0) {
			evs_log(EVS_LOG_WARN, "EVSHIM_DUMP: no eventfd (%s): no task dumps",
				strerror(fd < 0 ? -fd : EMFILE));
			return;
		}
		dump_evfd = fd;
	}
	if (evs_kthread_spawn(NULL, dump_main, NULL, true) < 0) {
		evs_log(EVS_LOG_WARN, "EVSHIM_DUMP: cannot start the dump thread: no task dumps");
		return;
	}
	__atomic_store_n(&thread_up, 1, __ATOMIC_RELEASE);
}

void evs_dump_atfork_child(void)
{
	/* The dump thread stayed in the parent; its eventfd came along. */
	__atomic_store_n(&thread_up, 0, __ATOMIC_RELEASE);
	dump_lock = 0;
	evs_dump_stop = 0;
	memset(held, 0, sizeof(held));
}

/* --- deadlocks ------------------------------------------------------------- */

static uint64_t dl_switches;  /* the monitor's own */
static int64_t dl_since;
static bool dl_reported;

/* Called by the monitor every tick. Cheap unless every worker sleeps with
 * no timer armed: then, once that has lasted EVS_DEADLOCK_QUIET_NS with
 * no switch anywhere, every task is looked at. */
void evs_dump_check_deadlock(int64_t now)
{
	int n = __atomic_load_n(&evs_nworkers, __ATOMIC_ACQUIRE);
	uint64_t sw = 0;
	for (int i = 0; i < n; i++) {
		struct evs_worker *w = &evs_workers[i];
		if (!worker_live(w))
			continue;
		sw += __atomic_load_n(&w->st[EVS_ST_switches], __ATOMIC_RELAXED);
		if (!__atomic_load_n(&w->sleeping, __ATOMIC_RELAXED) ||
		    __atomic_load_n(&w->cur, __ATOMIC_RELAXED) ||
		    __atomic_load_n(&w->timers.next_due, __ATOMIC_RELAXED) != INT64_MAX ||
		    __atomic_load_n(&w->nfresh, __ATOMIC_RELAXED) || !evs_runq_inbox_empty(&w->rq)) {
			dl_since = 0;
			return;
		}
	}
	if (sw != dl_switches || !dl_since) {
		dl_switches = sw;
		dl_since = now;
		dl_reported = false;
		return;
	}
	if (dl_reported || now - dl_since < EVS_DEADLOCK_QUIET_NS)
		return;
	dl_reported = true;  /* once, until something moves */
	/* Every task parked on the program's own synchronization, with no
	 * deadline: nothing in the process can wake any of them, except a
	 * signal handler or a thread the runtime does not know. */
	int tasks = 0;
	evs_spin_lock(&evs_sig_lock);
	for (struct evs_link *l = evs_sig_tasks.head; l; l = l->next) {
		struct evs_task *t = evs_container_of(l, struct evs_task, sig.all);
		if (!evs_wait_is_sync(t->parked_on) || t->parked_until != INT64_MAX) {
			evs_spin_unlock(&evs_sig_lock);
			return;
		}
		tasks++;
	}
	evs_spin_unlock(&evs_sig_lock);
	/* A wait on a process-shared word is also in the kernel: another
	 * process's wake (a sem_post) ends it. */
	if (!tasks || evs_foreign_threads() ||
	    __atomic_load_n(&evs_kfutex_waiting, __ATOMIC_RELAXED))
		return;
	evs_log(EVS_LOG_ERROR, "deadlock: all %d tasks wait on locks, conditions, semaphores or "
		"joins that no task can release (no timer, fd or child can wake any of them)", tasks);
	dump("deadlock");
}
