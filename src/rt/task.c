/* Task lifecycle: create, park/wake, exit, join, detach. The protocol is
 * in task.h; placement and switching in sched.c. */
#include "../evs.h"
#include "task.h"
#include "sched.h"
#include "monitor.h"
#include "config.h"
#include "stack.h"
#include "tls.h"
#include "report.h"
#include "../libc/real.h"
#include "../libc/sys.h"
#include <errno.h>
#include <sys/uio.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

static uint64_t next_id = 1;  /* atomic; 0 is main */

uint64_t evs_wait_open(unsigned flags)
{
	struct evs_task *t = evs_current();
	/* The flags first: pthread_cancel reads them after it sees the wait
	 * (both seq_cst), so it never judges a wait by an older one's flags. */
	t->wait_flags = flags;
	uint64_t tok = ((t->wait | 1) + 1) | 1;  /* next seq, waiting bit set */
	__atomic_store_n(&t->wait, tok, __ATOMIC_SEQ_CST);
	return tok;
}

bool evs_task_wake(struct evs_task *t, uint64_t token, int reason)
{
	uint64_t expect = token;
	if (!__atomic_compare_exchange_n(&t->wait, &expect, token & ~1ULL, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return false;
	t->wake_reason = reason;
	evs_sched_ready(t);
	return true;
}

/* Close our own wait: true if we won it (nobody queued us for it). */
static bool close_own(struct evs_task *t, uint64_t token)
{
	uint64_t expect = token;
	return __atomic_compare_exchange_n(&t->wait, &expect, token & ~1ULL, 0,
					   __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

static bool cancellable(struct evs_task *t)
{
	unsigned f = t->wait_flags;
	if ((f & EVS_WAIT_ASYNCCANCEL) && t->cancel_type != PTHREAD_CANCEL_ASYNCHRONOUS)
		return false;
	return !(f & EVS_WAIT_NOCANCEL) && t->cancel_state == PTHREAD_CANCEL_ENABLE &&
	       !t->exiting;
}

/* Waits that end only when the worker's epoll set reports something (the
 * monitor looks there for a worker whose task does not let go). */
static bool reported_by_poller(int why)
{
	return why == EVS_WAIT_fd_in || why == EVS_WAIT_fd_out || why == EVS_WAIT_poll ||
	       why == EVS_WAIT_signal || why == EVS_WAIT_file;
}

int evs_park(uint64_t token, int64_t deadline, int why, intptr_t obj)
{
	struct evs_task *t = evs_current();
	evs_sched_start();  /* main may block before it ever made a thread */
	/* A cancellation requested before this wait opened found no wait to
	 * end; this check catches it (pthread_cancel sets cancel_pending
	 * before it reads t->wait, both seq_cst). If a waker already queued
	 * us, the CAS fails and we switch as usual. */
	if (EVS_UNLIKELY(__atomic_load_n(&t->cancel_pending, __ATOMIC_SEQ_CST)) &&
	    cancellable(t) && close_own(t, token))
		return EVS_WAKE_CANCEL;
	struct evs_worker *w = t->w;
	/* Likewise a signal for this task: queued before the wait opened
	 * (its router found no wait to end), or noted by this worker's
	 * handler and not routed yet. */
	if (!(t->wait_flags & EVS_WAIT_NOSIGNAL)) {
		if (EVS_UNLIKELY(!evs_sig_inbox_empty(&w->sigin)))
			evs_sig_worker_poll(w);
		if (EVS_UNLIKELY(evs_sig_deliverable(&t->sig)) && close_own(t, token))
			return EVS_WAKE_SIGNAL;
	}
	struct evs_timer tm = { .when = deadline, .t = t, .token = token };
	if (deadline != INT64_MAX) {
		evs_timer_add(&w->timers, &tm);
		evs_monitor_nudge();  /* a slow monitor must know it is due */
	}
	t->err = errno;
	t->parked_on = why;
	t->parked_obj = obj;
	t->parked_until = deadline;
	t->parked_since = evs_now_coarse_ns();
	w->st[EVS_ST_parks]++;
	w->parks_by[why]++;
	bool polled = reported_by_poller(why);
	if (polled)
		__atomic_store_n(&w->pollwaits, w->pollwaits + 1, __ATOMIC_RELAXED);
	evs_sched_switch_out(t);
	if (polled)
		__atomic_store_n(&w->pollwaits, w->pollwaits - 1, __ATOMIC_RELAXED);
	t->parked_on = -1;
	/* Only a yield without a deadline may come back on another worker
	 * (sched.c): a timer is still in w's heap, and w is still t->w. */
	evs_timer_del(&w->timers, &tm);
	errno = t->err;
	return t->wake_reason;
}

void evs_wait_abandon(uint64_t token)
{
	struct evs_task *t = evs_current();
	if (close_own(t, token))
		return;
	/* A waker won and queued us: take that turn now, so no stale entry
	 * is left in the run queue. */
	t->parked_on = EVS_WAIT_yield;
	evs_sched_switch_out(t);
	t->parked_on = -1;
}

void evs_task_cancel(struct evs_task *t)
{
	__atomic_store_n(&t->cancel_pending, 1, __ATOMIC_SEQ_CST);
	uint64_t w = __atomic_load_n(&t->wait, __ATOMIC_SEQ_CST);
	if ((w & 1) && cancellable(t))
		evs_task_wake(t, w, EVS_WAKE_CANCEL);
	else if (!(w & 1))
		evs_sig_kick_running(t);  /* blocked in a call of the runtime's own */
}

bool evs_task_cancel_due(struct evs_task *t)
{
	return __atomic_load_n(&t->cancel_pending, __ATOMIC_SEQ_CST) &&
	       t->cancel_state == PTHREAD_CANCEL_ENABLE && !t->exiting;
}

void evs_task_yield(void)
{
	struct evs_task *t = evs_current();
	uint64_t tok = evs_wait_open(EVS_WAIT_NOCANCEL | EVS_WAIT_NOSIGNAL);
	evs_task_wake(t, tok, EVS_WAKE_EVENT);  /* to the back of the queue */
	evs_park(tok, INT64_MAX, EVS_WAIT_yield, 0);
}

static void task_entry(void *arg)
{
	struct evs_task *t = arg;
	t->started = 1;
	t->first_run_ns = evs_now_ns();  /* for rt/stack.c */
	errno = 0;
	evs_task_exit(t->fn(t->arg));
}

#define EVS_GUARD_MIN (64 << 10)

int evs_task_create(pthread_t *out, const pthread_attr_t *attr,
		    void *(*fn)(void *), void *arg)
{
	size_t size = evs_stack_default(), guard = (size_t)sysconf(_SC_PAGESIZE);
	void *ustack = NULL;
	int detach = PTHREAD_CREATE_JOINABLE;

	if (attr) {
		size_t ussize = 0;
		pthread_attr_getdetachstate(attr, &detach);
		pthread_attr_getstacksize(attr, &size);
		pthread_attr_getguardsize(attr, &guard);
		/* glibc keeps the stack's top and reports top - size; with no
		 * stack set the top is NULL, so lo + size wraps to 0. */
		if (pthread_attr_getstack(attr, &ustack, &ussize) == 0 &&
		    (uintptr_t)ustack + ussize != 0)
			size = ussize;
		else
			ustack = NULL;
	}
	/* glibc's guard is one page: a frame with a big local array steps
	 * over it into whatever mapping lies below (another task's stack, a
	 * library's data), and task stacks are small. Address space is
	 * cheap: at least EVS_GUARD_MIN of it, unless the program asked
	 * for none. */
	if (guard && guard < EVS_GUARD_MIN)
		guard = EVS_GUARD_MIN;
	evs_sched_start();
	/* A monitor that could not start with the runtime (its thread's TLS
	 * comes from the program's malloc, which may have failed just then)
	 * is tried again with each new thread until it runs. */
	if (EVS_UNLIKELY(evs_config.monitor && !evs_monitor_running()))
		evs_monitor_start();
	struct evs_task *t;
	int err = ustack ? evs_stack_alloc(0, 0, &t) : evs_stack_alloc(size, guard, &t);
	if (err)
		return err;
	if (evs_tls_task_init(t) < 0) {
		evs_stack_free(t);
		return -EAGAIN;
	}
	if (ustack) {
		t->stack_lo = ustack;
		t->stack_size = size;
		t->user_stack = 1;
	}
	t->magic = EVS_TASK_MAGIC;
	t->parked_on = -1;
	t->fn = fn;
	t->arg = arg;
	t->id = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
	t->refs = (detach == PTHREAD_CREATE_DETACHED) ? 1 : 2;
	t->detached = (detach == PTHREAD_CREATE_DETACHED);
	t->w = evs_sched_place();  /* counts t in its ntasks */
	struct evs_task *creator = evs_current();
	evs_sig_task_new(t, creator);  /* its mask is its creator's */
	if (creator)  /* and its name (the kernel copies it at clone) */
		memcpy(t->name, creator->name, sizeof(t->name));
	evs_ctx_make(&t->ctx, t->stack_lo, t->stack_size, task_entry, t, &t->uc);
	uint64_t live = __atomic_add_fetch(&evs_live_tasks, 1, __ATOMIC_RELAXED);
	evs_stat_peak(&evs_tasks_peak, live);
	evs_stat_add(EVS_ST_tasks_created, 1);
	*out = (pthread_t)t;  /* before it can run, as glibc does */
	evs_sched_spawn(t);
	return 0;
}

void evs_task_unref(struct evs_task *t)
{
	if (__atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0 &&
	    t != &evs_main_task)
		evs_stack_free(t);
}

void evs_task_exit(void *retval)
{
	struct evs_task *t = evs_current();
	t->exiting = 1;
	t->retval = retval;
	evs_tls_run_dtors(t);
	evs_keys_run_destructors(t);

	evs_sig_task_gone(t);
	/* Not joinable yet: a joiner learns of the end only once the task
	 * is off its stack (evs_task_finished, from the scheduler). */

	evs_stat_add(EVS_ST_tasks_exited, 1);
	if (__atomic_sub_fetch(&evs_live_tasks, 1, __ATOMIC_ACQ_REL) == 0) {
		/* The last thread ended after main called pthread_exit: the
		 * process exits with status 0, as if exit(0) were called. */
		exit(0);
	}
	evs_sched_exit_current(t);
}

/* t has switched away for good (its worker's scheduler, rt/sched.c):
 * now a join may return. Natively too pthread_join returns only once the
 * kernel has seen the thread leave its stack (CLONE_CHILD_CLEARTID), and
 * a program that gave the stack (pthread_attr_setstack) frees it then:
 * SBCL unmaps a finished thread's stack after its join, while the task,
 * which had woken the joiner, was still on it (SIGSEGV). */
void (*evs_task_word_wake)(uint32_t *word);

void evs_task_finished(struct evs_task *t)
{
	if (t->clear_tid) {
		/* set_tid_address's word, as the kernel treats a thread's at
		 * its end: 0 written (where it cannot be written, nothing, as
		 * the kernel ignores the fault) and one waiter woken */
		uint32_t zero = 0;
		struct iovec from = { &zero, sizeof(zero) }, to = { t->clear_tid, sizeof(zero) };
		if (evs_sys6(SYS_process_vm_writev, getpid(), (long)&from, 1, (long)&to, 1, 0) ==
		    sizeof(zero))
			evs_task_word_wake(t->clear_tid);  /* set with clear_tid */
	}
	evs_spin_lock(&t->lock);
	t->exited = 1;
	struct evs_task *j = t->joiner;
	uint64_t jtok = t->joiner_token;
	evs_spin_unlock(&t->lock);
	if (j)
		evs_task_wake(j, jtok, EVS_WAKE_EVENT);
}

int evs_task_join(struct evs_task *t, void **ret, int64_t deadline, int try_only)
{
	struct evs_task *me = evs_current();
	if (t == me)
		return -EDEADLK;
	evs_spin_lock(&t->lock);
	if (t->detached || t->joiner) {
		evs_spin_unlock(&t->lock);
		return -EINVAL;
	}
	if (!t->exited) {
		if (try_only || !me) {
			evs_spin_unlock(&t->lock);
			return -EBUSY;
		}
		t->joiner = me;
		t->joiner_token = evs_wait_open(0);
		evs_spin_unlock(&t->lock);
		int why = evs_park(t->joiner_token, deadline, EVS_WAIT_join, (intptr_t)t);
		while (why == EVS_WAKE_SIGNAL) {
			/* The handler runs, then the join goes on waiting (it
			 * never fails with EINTR): a new wait, published as the
			 * joiner's token under t's lock, unless t ended
			 * meanwhile (its exit reads the token under that lock). */
			evs_sig_run();
			evs_spin_lock(&t->lock);
			int done = t->exited;
			if (!done)
				t->joiner_token = evs_wait_open(0);
			evs_spin_unlock(&t->lock);
			why = done ? EVS_WAKE_EVENT
				   : evs_park(t->joiner_token, deadline, EVS_WAIT_join, (intptr_t)t);
		}
		if (why == EVS_WAKE_TIMEOUT || why == EVS_WAKE_CANCEL) {
			evs_spin_lock(&t->lock);
			int done = t->exited;
			if (!done)
				t->joiner = NULL;
			evs_spin_unlock(&t->lock);
			if (!done)
				return why == EVS_WAKE_CANCEL ? -ECANCELED : -ETIMEDOUT;
		}
	} else {
		t->joiner = me;
		evs_spin_unlock(&t->lock);
	}
	if (ret)
		*ret = t->retval;
	evs_task_unref(t);
	return 0;
}

int evs_task_detach(struct evs_task *t)
{
	evs_spin_lock(&t->lock);
	if (t->detached || t->joiner) {
		evs_spin_unlock(&t->lock);
		return -EINVAL;
	}
	t->detached = 1;
	evs_spin_unlock(&t->lock);
	evs_task_unref(t);
	return 0;
}

/* Cleanup handlers pushed with pthread_cleanup_push (C) register on the
 * task, not on the worker's thread, and pthread_exit runs them by jumping
 * into each push site in turn, as glibc's unwinder does. glibc keeps the
 * chain in the first spare word of the buffer; so do we. */
EVS_NORETURN void evs_task_unwind(struct evs_task *t)
{
	__pthread_unwind_buf_t *b = t->cleanup;
	if (b) {
		t->cleanup = b->__pad[0];
		/* The push site saved this buffer with __sigsetjmp(buf, 0):
		 * longjmp reads only the registers and the zero mask flag,
		 * not the full jmp_buf size GCC assumes. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
		REAL(longjmp)((struct __jmp_buf_tag *)(void *)b->__cancel_jmp_buf, 1);
#pragma GCC diagnostic pop
	}
	evs_task_exit(t->retval);
}

void evs_task_testcancel(void)
{
	struct evs_task *t = evs_current();
	if (t && t->cancel_pending && t->cancel_state == PTHREAD_CANCEL_ENABLE &&
	    !t->exiting) {
		t->retval = PTHREAD_CANCELED;
		t->exiting = 1;
		evs_task_unwind(t);
	}
}

