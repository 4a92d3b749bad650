#include "../evs.h"
#include "report.h"
#include "offload.h"
#include "config.h"
#include "sched.h"
#include "worker.h"
#include "monitor.h"
#include "task.h"
#include "signal.h"
#include "../list.h"
#include "../libc/real.h"
#include "../obs/log.h"
#include "../libc/sys.h"
#include <errno.h>
#include <stdlib.h>
#include <signal.h>
#include <linux/futex.h>
#include <time.h>

#define EVS_POOL_IDLE_NS (5LL * 1000000000)
/* A thread that finished a job looks for the next one this long before
 * it sleeps: a task doing a series of calls (4 KiB log writes on ext4,
 * each a job) submits the next within microseconds, and a thread that is
 * still awake saves the futex wake-up on both sides. */
#define EVS_POOL_SPIN_NS 20000

struct job {
	long (*fn)(void *);
	void *arg;
	long result;
	struct evs_task *t;
	uint64_t token;
	struct evs_link link;    /* in the queue, under lock */
	/* evs_offload_intr and evs_offload_handled: */
	bool guarded;            /* token and done under guard; token 0: no wake */
	int guard;               /* spin lock over token and done */
	int done;
	/* evs_offload_intr only: */
	int tid;                 /* the pool thread running it, 0 before (atomic) */
	unsigned intr;           /* set: the call should end (EINTR) */
	bool intr_job;
};

/* The job this pool thread runs (its interruption word). */
static __thread struct job *cur_job;

/* Queue and counts: protected by lock. `ready` is the futex idle threads
 * sleep on; it changes whenever a job is queued. */
static int lock;
static struct evs_queue jobs;
static int threads, idle, queued;
static uint32_t ready;
static int spinners;  /* threads awake between jobs (atomic; read under lock) */

/* This pool thread's kernel id (evs_offload_intr's target). */
static __thread int pool_tid;

static void *pool_main(void *arg)
{
	(void)arg;
	pool_tid = (int)evs_sys3(SYS_gettid, 0, 0, 0);
	/* Started with every signal blocked; the runtime's own is let in
	 * for good: only a task whose call this thread makes in its window
	 * sends it (evs_offload_intr), and the handler acts only while that
	 * call runs (monitor.c). No mask change around each such call. */
	uint64_t preempt = 1ULL << (EVS_SIG_PREEMPT - 1);
	evs_sys6(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&preempt, 0, sizeof(preempt), 0, 0);
	for (;;) {
		evs_spin_lock(&lock);
		struct evs_link *l = evs_queue_pop(&jobs);
		if (l) {
			struct job *j = evs_queue_entry(l, struct job, link);
			queued--;
			evs_spin_unlock(&lock);
			if (j->intr_job)
				__atomic_store_n(&j->tid, pool_tid, __ATOMIC_SEQ_CST);
			cur_job = j;
			long res = j->fn(j->arg);
			cur_job = NULL;
			/* j lives on the task's stack (or is the task's to
			 * free): copy before the wake */
			if (j->guarded)
				evs_spin_lock(&j->guard);
			j->result = res;
			struct evs_task *t = j->t;
			uint64_t tok = j->token;
			if (j->guarded) {
				j->done = 1;
				evs_spin_unlock(&j->guard);  /* j may be gone from here */
			}
			__atomic_thread_fence(__ATOMIC_RELEASE);
			if (tok)  /* 0: the task is not waiting (evs_offload_handled) */
				evs_task_wake(t, tok, EVS_WAKE_EVENT);
			/* Stay awake a little for the next job. A job queued
			 * while we count as a spinner is ours to take: the loop
			 * top looks at the queue under the lock before sleeping. */
			__atomic_fetch_add(&spinners, 1, __ATOMIC_SEQ_CST);
			int64_t until = evs_now_ns() + EVS_POOL_SPIN_NS;
			for (int k = 0; !__atomic_load_n(&jobs.head, __ATOMIC_ACQUIRE); k++) {
				evs_cpu_relax();
				if ((k & 63) == 63 && evs_now_ns() > until)
					break;
			}
			__atomic_fetch_sub(&spinners, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		uint32_t seen = __atomic_load_n(&ready, __ATOMIC_ACQUIRE);
		idle++;
		evs_spin_unlock(&lock);
		struct timespec ts = { EVS_POOL_IDLE_NS / 1000000000, 0 };
		long r = evs_sys6(SYS_futex, &ready, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, seen, &ts, 0, 0);
		evs_spin_lock(&lock);
		idle--;
		if (r == -ETIMEDOUT && evs_queue_empty(&jobs)) {  /* idle long enough: shrink */
			threads--;
			evs_spin_unlock(&lock);
			return NULL;
		}
		evs_spin_unlock(&lock);
	}
}

static int start_thread(void)
{
	return evs_kthread_spawn(NULL, pool_main, NULL, true) == 0;
}

long evs_offload(long (*fn)(void *), void *arg)
{
	return evs_offload_call(fn, arg, false);
}

/* Queue j (its token open) and see that a pool thread will run it:
 * false when none could start and nobody else is there to (j is
 * dequeued: the caller makes the call itself). */
static bool submit(struct job *j, bool unbounded)
{
	/* The job is queued and the pool's size decided in one go: every
	 * queued job needs a thread that will look at the queue (an idle one
	 * woken for it, one spinning between jobs, or a new one). Decided
	 * apart, a job could count on a spinner or an idle thread that
	 * another job took meanwhile; with calls that wait for each other
	 * (futex waits handed off from a barrier) the last one then waited in
	 * the queue for ever behind threads blocked on it (raw_futex_sites
	 * hung about 1 run in 100 on one worker). */
	evs_spin_lock(&lock);
	evs_queue_push(&jobs, &j->link);
	queued++;
	int serving = idle + __atomic_load_n(&spinners, __ATOMIC_SEQ_CST);
	int grow = queued > serving && (unbounded || threads < evs_config.pool_max);
	if (grow)
		threads++;
	__atomic_add_fetch(&ready, 1, __ATOMIC_RELEASE);
	int wake = idle > 0 && queued > __atomic_load_n(&spinners, __ATOMIC_SEQ_CST);
	evs_spin_unlock(&lock);
	if (grow && !start_thread()) {
		evs_spin_lock(&lock);
		bool none = --threads == 0 && j->link.linked;
		if (none) {  /* nobody to hand it to: block this worker */
			evs_queue_del(&jobs, &j->link);
			queued--;
		}
		evs_spin_unlock(&lock);
		if (none) {
			evs_wait_abandon(j->token);
			evs_fallback("pool", "no pool thread could start: the call blocks its worker");
			return false;
		}
	}
	if (wake)
		evs_sys6(SYS_futex, &ready, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, 0, 0, 0);
	evs_stat_add(EVS_ST_offloads, 1);
	return true;
}

long evs_offload_call(long (*fn)(void *), void *arg, bool unbounded)
{
	/* Not a hand-off of an unseen call (unbounded): that one comes from
	 * the runtime's trap handler, where signals are held back. */
	if (!unbounded && evs_lone_runs())
		return evs_lone_call(fn, arg);
	struct evs_task *t = evs_current();
	struct job j = { .fn = fn, .arg = arg, .t = t };

	/* Not a cancellation point while the job runs: j is on our stack. */
	j.token = evs_wait_open(EVS_WAIT_NOCANCEL | EVS_WAIT_NOSIGNAL);
	if (!submit(&j, unbounded))
		return fn(arg);
	evs_park(j.token, INT64_MAX, EVS_WAIT_pool, (intptr_t)fn);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return j.result;
}

bool evs_offload_intr_running(void)
{
	return cur_job && cur_job->intr_job && __atomic_load_n(&cur_job->intr, __ATOMIC_SEQ_CST);
}

const unsigned *evs_offload_intr_word(void)
{
	static const unsigned never;
	return cur_job && cur_job->intr_job ? &cur_job->intr : &never;
}

long evs_offload_intr(long (*fn)(void *), void *arg, unsigned wait_flags, bool *ended)
{
	struct evs_task *t = evs_current();
	struct job j = { .fn = fn, .arg = arg, .t = t, .intr_job = true, .guarded = true };
	if (ended)
		*ended = false;
	j.token = evs_wait_open(wait_flags);
	if (!submit(&j, true))  /* unbounded: it may wait for tasks */
		return fn(arg);
	int why = evs_park(j.token, INT64_MAX, EVS_WAIT_pool, (intptr_t)fn);
	if (why == EVS_WAKE_SIGNAL || why == EVS_WAKE_CANCEL) {
		/* A signal for the task, or its cancellation: the call ends
		 * with EINTR (the pool thread's window, arch/window.h), and
		 * the task waits for that, past any signal now. */
		evs_spin_lock(&j.guard);
		if (!j.done) {
			if (ended)
				*ended = true;
			__atomic_store_n(&j.intr, 1, __ATOMIC_SEQ_CST);
			int tid = __atomic_load_n(&j.tid, __ATOMIC_SEQ_CST);
			if (tid)
				evs_sys3(SYS_tgkill, evs_sys3(SYS_getpid, 0, 0, 0), tid, EVS_SIG_PREEMPT);
			j.token = evs_wait_open(EVS_WAIT_NOCANCEL | EVS_WAIT_NOSIGNAL);
			evs_spin_unlock(&j.guard);
			evs_park(j.token, INT64_MAX, EVS_WAIT_pool, (intptr_t)fn);
		} else {
			evs_spin_unlock(&j.guard);
		}
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return j.result;
}

long evs_offload_handled(long (*fn)(void *), void *arg)
{
	if (evs_lone_runs())
		return evs_lone_call(fn, arg);
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		return evs_offload(fn, arg);
	*j = (struct job){ .fn = fn, .arg = arg, .t = evs_current(), .guarded = true };
	j->token = evs_wait_open(0);
	if (!submit(j, false)) {
		free(j);
		return fn(arg);
	}
	uint64_t tok = j->token;
	int why;
	while ((why = evs_park(tok, INT64_MAX, EVS_WAIT_pool, (intptr_t)fn)) == EVS_WAKE_SIGNAL ||
	       why == EVS_WAKE_CANCEL) {
		/* A signal for the task: its handlers run now, as natively
		 * during the call, while the call goes on; a cancellation acts
		 * now, as at the call's own cancellation points. No wake while
		 * they run (token 0): a handler that leaves by longjmp, or the
		 * unwinding, leaves j and what fn works on to the pool thread,
		 * never the task. */
		evs_spin_lock(&j->guard);
		bool done = j->done;
		j->token = 0;
		evs_spin_unlock(&j->guard);
		if (done)
			break;
		if (why == EVS_WAKE_SIGNAL)
			evs_sig_run();
		else
			evs_task_testcancel();
		evs_spin_lock(&j->guard);
		done = j->done;
		if (!done)
			tok = j->token = evs_wait_open(0);
		evs_spin_unlock(&j->guard);
		if (done)
			break;
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	long r = j->result;
	free(j);
	return r;
}

void evs_offload_atfork_child(void)
{
	/* The pool threads stayed in the parent; their jobs too. */
	lock = 0;
	jobs = (struct evs_queue){ 0 };
	threads = idle = queued = spinners = 0;
}
