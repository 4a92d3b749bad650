/* Waiting for signals: sigwait and its timed forms, sigsuspend and pause.
 *
 * A task in sigwait(set) takes a signal of the set from three places, in
 * this order: its own queue, the process's queue (both the runtime's),
 * and the kernel, where a signal every task blocks stays pending (rule 2
 * of signal.h). It announces itself first (t->sig.waiting) so that a
 * signal routed meanwhile is handed straight to it, then looks in the
 * kernel without waiting (rt_sigtimedwait, zero timeout), then parks. A
 * signal the kernel holds wakes it through the process's signalfd, which
 * sits (edge-triggered) in the epoll set of every worker that has had a
 * task in sigwait: the signalfd is only a doorbell, never read; the task
 * takes the signal with rt_sigtimedwait. */
#include "../evs.h"
#include "signal.h"
#include "sigint.h"
#include "sched.h"
#include "task.h"
#include "timer.h"
#include "../io/poller.h"
#include "../libc/sys.h"
#include <errno.h>
#include <sys/syscall.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>

#define EVS_KSIGSET 8     /* the kernel's sigset_t: 64 bits */
/* Without a signalfd (a kernel built without it), a task in sigwait looks
 * at the kernel's pending signals this often instead. */
#define EVS_SIGWAIT_POLL_NS (10 * 1000000LL)

/* How long a sigwait that took its signal waits at most for a signal in
 * transit on another worker's thread to reach its task (settle). */
#define EVS_SIG_SETTLE_NS (2 * 1000000LL)

static int sigfd = -1;    /* the process's doorbell, made on first use */
static int sigfd_lock;

static bool arm(struct evs_worker *w)
{
	if (w->sigfd_armed)
		return true;
	evs_spin_lock(&sigfd_lock);
	if (sigfd < 0) {
		sigset_t all;
		sigfillset(&all);
		long fd = evs_sys6(SYS_signalfd4, -1, &all, EVS_KSIGSET, SFD_NONBLOCK | SFD_CLOEXEC, 0, 0);
		sigfd = fd < 0 ? -2 : evs_poller_hide_fd((int)fd);
	}
	int fd = sigfd;
	evs_spin_unlock(&sigfd_lock);
	if (fd < 0)
		return false;
	long r = evs_poller_add(w->epfd, fd, EVS_POLLER_SIGNAL);
	w->sigfd_armed = r == 0 || r == -EEXIST;
	return w->sigfd_armed;
}

void evs_sig_kernel_pending(void)
{
	evs_spin_lock(&evs_sig_lock);
	for (struct evs_link *l = evs_sig_tasks.head; l; l = l->next) {
		struct evs_task *t = evs_container_of(l, struct evs_task, sig.all);
		uint64_t w = __atomic_load_n(&t->wait, __ATOMIC_SEQ_CST);
		if (t->sig.waiting && (w & 1))
			evs_task_wake(t, w, EVS_WAKE_EVENT);
	}
	evs_spin_unlock(&evs_sig_lock);
}

int64_t evs_stop_after = -1;
int evs_stop_waiters;

long evs_thread_nvcsw(void)
{
	struct rusage ru;
	if (evs_sys3(SYS_getrusage, RUSAGE_THREAD, &ru, 0) != 0)
		return -1;
	return ru.ru_nvcsw;
}

void evs_sig_stopped(int64_t slept_at)
{
	/* Noted first: a task that opens its wait after the walk sees it
	 * when it compares (evs_stop_since). */
	int64_t was = __atomic_load_n(&evs_stop_after, __ATOMIC_SEQ_CST);
	while (was < slept_at && !__atomic_compare_exchange_n(&evs_stop_after, &was, slept_at, false,
							       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
	evs_spin_lock(&evs_sig_lock);
	for (struct evs_link *l = evs_sig_tasks.head; l; l = l->next) {
		struct evs_task *t = evs_container_of(l, struct evs_task, sig.all);
		uint64_t w = __atomic_load_n(&t->wait, __ATOMIC_SEQ_CST);
		if ((w & 1) && (__atomic_load_n(&t->wait_flags, __ATOMIC_RELAXED) & EVS_WAIT_STOPINTR))
			evs_task_wake(t, w, EVS_WAKE_SIGNAL);
	}
	evs_spin_unlock(&evs_sig_lock);
}

/* Take a queued signal of `set` for t (its own queue, then the
 * process's). Under the lock. */
static bool take_queued(struct evs_task *t, evs_sigbits set, siginfo_t *info)
{
	struct sigrec *r = evs_sig_dequeue(&t->sig.q, set);
	if (r) {
		__atomic_store_n(&t->sig.pend, evs_sig_bits_of(&t->sig.q), __ATOMIC_SEQ_CST);
	} else if ((r = evs_sig_dequeue(&evs_sig_procq, set))) {
		evs_sig_procpend = evs_sig_bits_of(&evs_sig_procq);
	}
	if (!r)
		return false;
	*info = r->info;
	evs_sig_rec_put(r);
	return true;
}

/* The process's only task (sched.h): the kernel's own rt_sigtimedwait
 * with the time left, in the window. A signal of the set a router queues
 * for the task meanwhile (give) bails the window or kicks the worker out
 * of the kernel: -EINTR, and the caller looks at the queues again. */
static long lone_take(struct evs_tasksig *s, evs_sigbits set, const sigset_t *kset,
		      siginfo_t *info, int64_t deadline)
{
	struct timespec left, *tl = NULL;
	if (deadline != INT64_MAX) {
		int64_t ns = deadline - evs_now_ns();
		ns = ns < 0 ? 0 : ns;
		left.tv_sec = ns / 1000000000;
		left.tv_nsec = ns % 1000000000;
		tl = &left;
	}
	long k = evs_lone_syscall_also(set, SYS_rt_sigtimedwait, (long)kset, (long)info, (long)tl,
				       EVS_KSIGSET, 0, 0);
	evs_spin_lock(&evs_sig_lock);
	s->waiting = 0;
	s->lone = false;
	evs_spin_unlock(&evs_sig_lock);
	return k;
}

/* Task t has taken signal sig of `set`. Natively, a signal sent to the
 * process before that one, which the thread does not block, has been
 * delivered to it by then: the kernel picks the thread when the signal is
 * sent, and the waiting thread runs its handler on the call's way out.
 * Here the kernel may have handed it to another worker's thread (one
 * awake, whose mask is K; a sleeping one blocks what all its tasks block:
 * evs_sig_sleep_bits), whose handler caught it and whose worker routes it
 * soon. Such a signal is waited for (evs_sig_transit) until it is queued
 * on its task, and the hook's way out (evs_ret) then runs the handlers.
 * Cheap when nothing is in transit: one load. Left open: a signal another
 * thread's kernel has taken and not yet handed to the runtime's handler
 * (the kernel's delivery, longer only if that thread is preempted
 * there). */
static long settle(struct evs_task *t, evs_sigbits set, long sig)
{
	if (EVS_LIKELY(__atomic_load_n(&evs_sig_transit, __ATOMIC_SEQ_CST) <= 0))
		return sig;
	if (!(evs_sig_caught() & ~t->sig.mask & ~set))
		return sig;  /* nothing it could take */
	int64_t until = 0;
	while (__atomic_load_n(&evs_sig_transit, __ATOMIC_SEQ_CST) > 0) {
		evs_sig_worker_poll(evs_self);  /* this thread's own notes */
		if (__atomic_load_n(&evs_sig_transit, __ATOMIC_SEQ_CST) <= 0)
			break;
		int64_t now = evs_now_ns();
		if (!until)
			until = now + EVS_SIG_SETTLE_NS;
		else if (now >= until)
			break;
		evs_sys6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
	}
	return sig;
}

static long wait_loop(evs_sigbits set, siginfo_t *info, int64_t deadline, bool *counted)
{
	struct evs_task *t = evs_current();
	struct evs_tasksig *s = &t->sig;
	sigset_t kset;
	evs_bits_sigset(set, &kset);
	int64_t stops = evs_stop_mark();  /* a stop ends the wait: EINTR */
	for (;;) {
		evs_spin_lock(&evs_sig_lock);
		if (take_queued(t, set, info)) {
			evs_spin_unlock(&evs_sig_lock);
			return settle(t, set, info->si_signo);
		}
		if (evs_lone_may_wait(deadline)) {
			s->waiting = set;  /* routed to this task, queued (give) */
			s->lone = true;
			evs_spin_unlock(&evs_sig_lock);
			long k = lone_take(s, set, &kset, info, deadline);
			if (k > 0)
				return settle(t, set, k);
			if (k != -EINTR)
				return k;  /* -EAGAIN at the deadline */
			if (evs_sig_run() & EVS_SIG_RAN)
				return -EINTR;  /* a handler for another signal ran */
			if (evs_stop_since(stops))
				return -EINTR;  /* the process was stopped and continued */
			continue;  /* one of the set queued: look again */
		}
		s->waiting = set;
		s->handed_sig = 0;
		bool kch = !*counted && evs_sig_wait_count(set, 1);
		*counted = true;
		uint64_t tok = evs_wait_open(EVS_WAIT_STOPINTR);
		evs_spin_unlock(&evs_sig_lock);
		if (kch)
			evs_sig_k_publish();

		bool armed = arm(t->w);
		struct timespec zero = { 0, 0 };
		long k = evs_sys6(SYS_rt_sigtimedwait, &kset, info, &zero, EVS_KSIGSET, 0, 0);
		int why = EVS_WAKE_EVENT;
		if (k > 0 || evs_now_ns() >= deadline || evs_stop_since(stops)) {
			evs_wait_abandon(tok);
		} else {
			int64_t until = deadline;
			if (!armed && until - evs_now_ns() > EVS_SIGWAIT_POLL_NS)
				until = evs_now_ns() + EVS_SIGWAIT_POLL_NS;
			evs_stop_wait(1);
			why = evs_park(tok, until, EVS_WAIT_signal, (intptr_t)set);
			evs_stop_wait(-1);
			if (why == EVS_WAKE_TIMEOUT && until != deadline)
				why = EVS_WAKE_EVENT;  /* only the poll interval: look again */
		}

		evs_spin_lock(&evs_sig_lock);
		s->waiting = 0;
		int handed = s->handed_sig;
		siginfo_t hi = s->handed;
		s->handed_sig = 0;
		if (handed && k > 0) {  /* two at once: the kernel's waits on the task */
			struct sigrec *r = evs_sig_rec_get();
			if (r) {
				r->info = *info;
				r->to_process = true;
				evs_queue_push(&s->q, &r->link);
				__atomic_store_n(&s->pend, evs_sig_bits_of(&s->q), __ATOMIC_SEQ_CST);
			}
		}
		evs_spin_unlock(&evs_sig_lock);
		if (handed) {
			*info = hi;
			return settle(t, set, handed);
		}
		if (k > 0)
			return settle(t, set, k);
		switch (why) {
		case EVS_WAKE_TIMEOUT:
			return -EAGAIN;
		case EVS_WAKE_CANCEL:
			return -ECANCELED;
		case EVS_WAKE_SIGNAL:
			if (evs_sig_run() & EVS_SIG_RAN)
				return -EINTR;  /* a handler for another signal ran */
			break;
		default:
			if (evs_now_ns() >= deadline)
				return -EAGAIN;
		}
		if (evs_stop_since(stops))
			return -EINTR;  /* the process was stopped and continued */
	}
}

/* The count of signals waited for (signal.c, evs_sig_wait_count) is
 * taken at the first park and given back only once the wait is over: a
 * wake-up (the doorbell of a signal the kernel holds, a stop check) goes
 * round the loop and takes the signal at its top, still held in the
 * kernel meanwhile. */
long evs_sig_wait(evs_sigbits set, siginfo_t *info, int64_t deadline)
{
	bool counted = false;
	long r = wait_loop(set, info, deadline, &counted);
	if (counted) {
		evs_spin_lock(&evs_sig_lock);
		bool kch = evs_sig_wait_count(set, -1);
		evs_spin_unlock(&evs_sig_lock);
		if (kch)
			evs_sig_k_publish();
	}
	return r;
}

long evs_sig_suspend(evs_sigbits mask)
{
	struct evs_task *t = evs_current();
	evs_sigbits old = evs_sig_swap_mask(mask);
	long r = -EINTR;
	for (;;) {
		if (evs_sig_deliverable(&t->sig) && (evs_sig_run_through(old) & EVS_SIG_RAN))
			break;
		if (evs_lone_may_wait(INT64_MAX)) {
			/* the process's only task (sched.h): the kernel's own
			 * wait for a signal, a ppoll of no fd; the loop's top
			 * runs what ended it (dash's `wait`, a daemon's pause) */
			evs_lone_syscall(SYS_ppoll, 0, 0, 0, 0, 0, 0);
			continue;
		}
		uint64_t tok = evs_wait_open(0);
		int why = evs_park(tok, INT64_MAX, EVS_WAIT_signal, 0);
		if (why == EVS_WAKE_CANCEL) {
			r = -ECANCELED;
			break;
		}
	}
	evs_sig_swap_mask(old);
	/* What the old mask lets through is taken before the call returns,
	 * as the kernel does on the way back to the program. */
	evs_sig_run();
	return r;
}
