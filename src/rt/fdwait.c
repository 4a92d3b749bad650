/* The one try / would-block / park / retry loop, and its multi-fd form for
 * poll, select and epoll_wait. Invariants: fdtab.h. */
#include "../evs.h"
#include "report.h"
#include "fdtab.h"
#include "sched.h"
#include "task.h"
#include "timer.h"
#include "netring.h"
#include "signal.h"
#include "pipe.h"
#include "../io/poller.h"
#include "../libc/sys.h"
#include <errno.h>
#include <poll.h>
#include <sys/syscall.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

static uint64_t tag_of(uint32_t gen, int fd)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}

/* Make sure w's epoll set holds fd (invariant 1). False when it cannot
 * (EPERM: a regular file; ENOSPC: max_user_watches). */
static bool ensure_registered(struct evs_fd *f, int fd, struct evs_worker *w)
{
	uint64_t bit = 1ULL << w->id;
	evs_sched_start();
	if (__atomic_load_n(&f->reg, __ATOMIC_ACQUIRE) & bit)
		return true;
	evs_spin_lock(&f->lock);
	uint32_t gen = f->gen;
	evs_spin_unlock(&f->lock);
	long r = evs_poller_add(w->epfd, fd, tag_of(gen, fd));
	if (r == -EEXIST)  /* registered before a close we did not see: new tag */
		r = evs_poller_retag(w->epfd, fd, tag_of(gen, fd));
	if (r < 0)
		return false;
	evs_spin_lock(&f->lock);
	if (f->gen == gen)
		f->reg |= bit;
	evs_spin_unlock(&f->lock);
	return true;
}

/* The fallback when epoll cannot hold the fd: a real poll() on the
 * worker until ready (0), the deadline (-ETIME) or an error. Counted. */
static long block_for_real(int fd, int dir, int64_t deadline)
{
	evs_fallback("fd_wait", "epoll refuses this fd: a real poll on the worker");
	long r = evs_sys_poll1(fd, dir == EVS_IN ? POLLIN : POLLOUT, evs_ms_until(deadline));
	if (r == 0)
		return -ETIME;
	return r < 0 ? r : 0;
}

/* fd_wait: a writer of this process handed its bytes to the read's offer
 * (rt/pipe.h): the read is done, h->res is its result. */
#define HANDED 1

/* Park until fd is ready in dir, the deadline passes (-ETIME), it is
 * closed (-EBADF), the task is cancelled (-ECANCELED) or a signal comes
 * for it (-EINTR, its handler not run yet); seq is the snapshot taken
 * before the failed try. 0: worth trying again. HANDED: a pipe's writer
 * delivered (a signal that also came has had its handler run). */
static long fd_wait(struct evs_fd *f, int fd, int dir, uint32_t seq, int64_t deadline,
		    struct evs_handin *h)
{
	struct evs_task *t = evs_current();
	if (!ensure_registered(f, fd, t->w))
		return block_for_real(fd, dir, deadline);
	if (deadline != INT64_MAX && evs_now_ns() >= deadline)
		return -ETIME;
	struct evs_waiter me = { .t = t };
	evs_spin_lock(&f->lock);
	if (__atomic_load_n(&f->seq[dir], __ATOMIC_ACQUIRE) != seq) {
		evs_spin_unlock(&f->lock);  /* an event came after the try */
		return 0;
	}
	me.token = evs_wait_open(0);
	evs_queue_push(&f->waiters[dir], &me.link);
	uint32_t gen = f->gen;
	evs_spin_unlock(&f->lock);
	if (h) {
		h->t = t;
		h->token = me.token;
		h->gen = gen;
		evs_pipe_offer(f, h);
		t->pipe_offer = 1;
	}
	int why = evs_park(me.token, deadline, dir == EVS_IN ? EVS_WAIT_fd_in : EVS_WAIT_fd_out, fd);
	t->pipe_offer = 0;
	bool handed = h && evs_pipe_withdraw(f, h);
	evs_fd_unqueue(f, &f->waiters[dir], &me);
	if (handed) {
		/* The read has its bytes; a signal that also came runs its
		 * handler now, a cancellation waits for the next cancellation
		 * point (as after the ring's completion, ring_io). */
		if (why == EVS_WAKE_SIGNAL)
			evs_sig_run();
		return HANDED;
	}
	return evs_wake_ret(why);
}

int64_t evs_fd_deadline(struct evs_fd *f, int dir)
{
	int64_t t = f->timeo[dir];
	return t ? evs_now_ns() + t : INT64_MAX;
}

/* Invariant 5: the fd was found empty (or, writing, full) by an attempt
 * made after the direction's evidence counter read k (evid()). */
static void note_drained(struct evs_fd *f, int dir, uint32_t k)
{
	__atomic_store_n(&f->drained[dir], (uint64_t)k | EVS_DRAINED, __ATOMIC_RELAXED);
	if (dir == EVS_IN)
		__atomic_store_n(&f->avail, 0, __ATOMIC_RELAXED);
}

static void forget_drained(struct evs_fd *f, int dir)
{
	if (__atomic_load_n(&f->drained[dir], __ATOMIC_RELAXED))
		__atomic_store_n(&f->drained[dir], 0, __ATOMIC_RELAXED);
}

/* The counter invariant 5's evidence is kept against: reads, the kernel's
 * events only (a peer's poke is the kernel's event early, and the
 * kernel's still comes if the data is still there when the poller looks);
 * writes, every event. Read after seq, which is bumped after kseq. */
static uint32_t evid(struct evs_fd *f, int dir)
{
	return __atomic_load_n(dir == EVS_IN ? &f->kseq[dir] : &f->seq[dir], __ATOMIC_ACQUIRE);
}

/* What an attempt (made by try, or by the ring) says of the fd; k: the
 * evidence counter read before it. */
static void note_try(struct evs_fd *f, int dir, uint32_t k, long r, const struct evs_try *st)
{
	/* A short read proves the fd empty only if no reported end of file
	 * or error keeps it readable (fdtab.h, 5): such an event counted in
	 * kseq set `hup` before it. */
	if ((r == -EAGAIN && !st->partial) ||
	    (st->drained && !__atomic_load_n(&f->hup, __ATOMIC_RELAXED))) {
		note_drained(f, dir, k);
		return;
	}
	if (dir == EVS_OUT) {
		if (st->more)
			forget_drained(f, dir);
		return;
	}
	/* A read that took what the pair's other end wrote keeps the
	 * evidence: the next read parks first (the ping-pong). One that got
	 * bytes nobody told us about (another process, a raw write, a full
	 * read of a socket) lets the next read try: more may be there, their
	 * edge on its way. Either is safe (invariant 5); this only guesses
	 * which costs less. */
	if (st->got > 0) {
		int64_t left = st->peek ? __atomic_load_n(&f->avail, __ATOMIC_RELAXED) - st->got
					: __atomic_sub_fetch(&f->avail, st->got, __ATOMIC_RELAXED);
		if (left < 0) {
			forget_drained(f, dir);
			if (!st->peek)
				__atomic_store_n(&f->avail, 0, __ATOMIC_RELAXED);
		}
	}
}

/* The blocking call would block: the operation goes into the worker's
 * ring and the task parks on it (rt/netring.h). Returns 1 when it ran
 * (*r: try's answer for its result), 0 when the wait ended before it
 * ran (*r: 0 to try again, or -ETIME, -EBADF, -ECANCELED, -EINTR), -1
 * when the ring cannot take it (the readiness path instead). */
static int ring_io(struct evs_fd *f, int fd, int dir, evs_try_fn try, evs_prep_fn prep,
		   void *arg, uint32_t k, int64_t deadline, long *r)
{
	struct evs_nop op;
	if (!prep(fd, arg, &op))
		return -1;
	op.poll_first = true;  /* it was just found empty (or full) */
	struct evs_netres nr;
	long e = evs_net_park(f, fd, dir, &op, deadline, &nr);
	if (e == EVS_USE_REAL)
		return -1;
	if (!nr.completed) {
		*r = e;
		return 0;
	}
	struct evs_try st = { .ringed = true, .res = nr.res };
	*r = try(fd, arg, &st);
	note_try(f, dir, k, *r, &st);
	/* It ran, so the call has its answer; a signal that also came runs
	 * its handler now, a cancellation waits for the next cancellation
	 * point (the call itself was not cut short). */
	if (nr.why == EVS_WAKE_SIGNAL)
		evs_sig_run();
	return 1;
}

/* The process's only task waits for the fd in the kernel itself
 * (sched.h): 0 once it is ready (or closed: the next attempt says so),
 * -ETIME at the deadline, -EINTR for a signal. No registration, no park,
 * no runtime started for it. */
static long lone_fd_wait(int fd, int dir, int64_t deadline)
{
	struct pollfd p = { fd, dir == EVS_IN ? POLLIN : POLLOUT, 0 };
	struct timespec ts, *left = NULL;
	if (deadline != INT64_MAX) {
		int64_t ns = deadline - evs_now_ns();
		if (ns <= 0)
			return -ETIME;
		ts.tv_sec = ns / 1000000000;
		ts.tv_nsec = ns % 1000000000;
		left = &ts;
	}
	long r = evs_lone_syscall(SYS_ppoll, (long)&p, 1, (long)left, 0, 0, 0);
	if (r == -EINVAL && fd >= 0 && fd <= 65535) {
		/* RLIMIT_NOFILE lowered to 0 (vsftpd): the kernel refuses any
		 * poll; pselect6 has no such limit (libc/poll1.c) */
		uint64_t set[fd / 64 + 1];
		memset(set, 0, sizeof(set));
		set[fd / 64] = 1ull << (fd % 64);
		r = evs_lone_syscall(SYS_pselect6, fd + 1, dir == EVS_IN ? (long)set : 0,
				     dir == EVS_IN ? 0 : (long)set, 0, (long)left, 0);
	}
	return r == 0 ? -ETIME : r < 0 ? r : 0;
}

long evs_fd_io(struct evs_fd *f, int fd, int dir, evs_try_fn try, evs_prep_fn prep, void *arg,
	       int nonblock, int64_t deadline)
{
	return evs_fd_io_offering(f, fd, dir, try, prep, arg, nonblock, deadline, NULL);
}

long evs_fd_io_offering(struct evs_fd *f, int fd, int dir, evs_try_fn try, evs_prep_fn prep,
			void *arg, int nonblock, int64_t deadline, struct evs_handin *h)
{
	int woken = 0;
	long r;
	bool ring = prep && !nonblock && evs_net_ring();
	bool first = true;
	for (;;) {
		uint32_t seq = __atomic_load_n(&f->seq[dir], __ATOMIC_ACQUIRE);
		uint32_t k = evid(f, dir);
		/* Invariant 5: empty when last looked at, no event since (and,
		 * reading, nothing the other end of the pair wrote unread):
		 * wait first. Only before the call's first attempt; after a
		 * wait (an event, a poke, a signal) it tries. */
		bool skipped = first && !nonblock &&
			__atomic_load_n(&f->drained[dir], __ATOMIC_RELAXED) == ((uint64_t)k | EVS_DRAINED) &&
			(dir == EVS_OUT || __atomic_load_n(&f->avail, __ATOMIC_ACQUIRE) <= 0);
		first = false;
		if (skipped) {
			evs_stat_add(EVS_ST_tries_skipped, 1);
		} else {
			struct evs_try st = { 0 };
			r = try(fd, arg, &st);
			note_try(f, dir, k, r, &st);
			if (r != -EAGAIN || nonblock)
				break;
		}
		bool lone = evs_lone_may_wait(deadline);
		if (ring && !lone) {
			int ran = ring_io(f, fd, dir, try, prep, arg, k, deadline, &r);
			if (ran > 0) {
				if (r != -EAGAIN)
					break;
				/* A partial transfer goes on; the ring's attempt
				 * was the last look, as a try would have been. */
				first = true;
				continue;
			}
			if (ran == 0) {
				/* It did not run: no bytes moved, nothing to try
				 * in its place (the kernel looked when it armed). */
				skipped = false;
				goto ended;
			}
			ring = false;  /* this call cannot use the ring: readiness */
		}
		r = lone ? lone_fd_wait(fd, dir, deadline) : fd_wait(f, fd, dir, seq, deadline, h);
		if (r == HANDED) {
			/* Nothing went through the kernel's pipe: what was
			 * known of it (empty) still holds. */
			r = h->res;
			break;
		}
		if (skipped && (r == -ETIME || r == -EINTR || r == -ECANCELED)) {
			/* The wait ended before its event was seen: the attempt
			 * it stood in for comes first, as natively the call
			 * would have made it before the timeout, the signal or
			 * the cancellation could matter. */
			struct evs_try st = { 0 };
			long t = try(fd, arg, &st);
			if (t != -EAGAIN) {
				if (r == -EINTR)
					evs_sig_run();  /* the handler runs; the call has its answer */
				r = t;
				break;
			}
		}
		if (r >= 0)
			woken = 1;
ended:
		if (r == -ECANCELED) {
			evs_task_testcancel();
			continue;
		}
		if (r == -EINTR) {
			/* signal(7): a handler installed without SA_RESTART
			 * interrupts the call; so does any handler when the
			 * socket has a timeout for this direction. */
			int ran = evs_sig_run();
			if ((ran & EVS_SIG_NORESTART) || ((ran & EVS_SIG_RAN) && f->timeo[dir]))
				break;
			continue;
		}
		if (r < 0)
			break;
	}
	if (woken)
		evs_fd_pass(f, dir);
	return r;
}

void evs_fd_snapshot(struct evs_pollreq *r, int n)
{
	for (int i = 0; i < n; i++) {
		r[i].f = evs_fd_get(r[i].fd);
		if (!r[i].f)
			continue;
		for (int d = 0; d < 2; d++)
			r[i].seq[d] = __atomic_load_n(&r[i].f->seq[d], __ATOMIC_ACQUIRE);
	}
}

long evs_fd_wait_many(struct evs_pollreq *r, int n, int64_t deadline, const int64_t *stops)
{
	struct evs_task *t = evs_current();
	long ret = 0;
	for (int i = 0; i < n; i++)
		if (r[i].f && r[i].dirs && !ensure_registered(r[i].f, r[i].fd, t->w))
			return EVS_USE_REAL;
	if (deadline != INT64_MAX && evs_now_ns() >= deadline)
		return -ETIME;
	uint64_t token = evs_wait_open(stops ? EVS_WAIT_STOPINTR : 0);
	/* after the open: a stop counted later wakes this wait */
	if (stops && evs_stop_since(*stops)) {
		evs_wait_abandon(token);
		return -EINTR;
	}
	int i, stale = 0;
	for (i = 0; i < n && !stale; i++) {
		struct evs_fd *f = r[i].f;
		r[i].w[0].link.linked = r[i].w[1].link.linked = false;
		if (!f || !r[i].dirs)
			continue;
		evs_spin_lock(&f->lock);
		for (int d = 0; d < 2; d++) {
			if (!(r[i].dirs & (1 << d)))
				continue;
			if (__atomic_load_n(&f->seq[d], __ATOMIC_ACQUIRE) != r[i].seq[d]) {
				stale = 1;
				break;
			}
			r[i].w[d].t = t;
			r[i].w[d].token = token;
			evs_queue_push(&f->waiters[d], &r[i].w[d].link);
		}
		evs_spin_unlock(&f->lock);
	}
	int queued_upto = i;
	if (stale)  /* an event came after the check: look again instead */
		evs_wait_abandon(token);
	else
		ret = evs_wake_ret(evs_park(token, deadline, EVS_WAIT_poll, n));
	for (i = 0; i < queued_upto; i++) {
		if (!r[i].f)
			continue;
		for (int d = 0; d < 2; d++)
			if (r[i].dirs & (1 << d))
				evs_fd_unqueue(r[i].f, &r[i].f->waiters[d], &r[i].w[d]);
	}
	/* A poll consumes nothing: an event that woke this task (it was the
	 * first waiter, invariant 3) is owed to the waiters behind it too, a
	 * reader of the same pipe, another poll; natively every one of them
	 * returns. Passed on for each fd that saw one since the snapshot. */
	for (i = 0; i < queued_upto; i++) {
		struct evs_fd *f = r[i].f;
		if (!f)
			continue;
		for (int d = 0; d < 2; d++)
			if ((r[i].dirs & (1 << d)) &&
			    __atomic_load_n(&f->seq[d], __ATOMIC_ACQUIRE) != r[i].seq[d])
				evs_fd_pass(f, d);
	}
	if (ret == -EBADF)  /* one of the fds was closed: let the check say so */
		ret = 0;
	return ret;
}
