/* The one try / would-block / park / retry loop, and its multi-fd form for
 * poll, select and epoll_wait. Invariants: fdtab.h. */
#include "../evs.h"
#include "fdtab.h"
#include "sched.h"
#include "task.h"
#include "timer.h"
#include "../io/poller.h"
#include "../libc/sys.h"
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

static uint64_t tag_of(uint32_t gen, int fd)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}

/* Make sure w's epoll set holds fd (invariant 1). Any failure means the
 * runtime cannot wait on this fd: -EOPNOTSUPP. */
static long ensure_registered(struct evs_fd *f, int fd, struct evs_worker *w)
{
	uint64_t bit = 1ULL << w->id;
	evs_sched_start();
	if (__atomic_load_n(&f->reg, __ATOMIC_ACQUIRE) & bit)
		return 0;
	evs_spin_lock(&f->lock);
	uint32_t gen = f->gen;
	evs_spin_unlock(&f->lock);
	long r = evs_poller_add(w->epfd, fd, tag_of(gen, fd));
	if (r == -EEXIST) {
		/* The same file under this number was registered before a
		 * close we did not see: update the tag. */
		struct epoll_event e = {
			.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
			.data.u64 = tag_of(gen, fd),
		};
		r = evs_sys6(SYS_epoll_ctl, w->epfd, EPOLL_CTL_MOD, fd, &e, 0, 0);
	}
	if (r < 0)  /* EPERM: a regular file; ENOSPC: max_user_watches */
		return -EOPNOTSUPP;
	evs_spin_lock(&f->lock);
	if (f->gen == gen)
		f->reg |= bit;
	evs_spin_unlock(&f->lock);
	return 0;
}

static void enqueue(struct evs_fd *f, int dir, struct evs_waiter *w)
{
	w->next = NULL;
	w->queued = 1;
	if (f->tail[dir])
		f->tail[dir]->next = w;
	else
		f->head[dir] = w;
	f->tail[dir] = w;
}

static void unlink_waiter(struct evs_fd *f, int dir, struct evs_waiter *w)
{
	evs_spin_lock(&f->lock);
	if (w->queued) {
		struct evs_waiter **pp = &f->head[dir], *prev = NULL;
		while (*pp && *pp != w) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		if (*pp) {
			*pp = w->next;
			if (f->tail[dir] == w)
				f->tail[dir] = prev;
		}
		w->queued = 0;
	}
	evs_spin_unlock(&f->lock);
}

static int park_until(struct evs_task *t, uint64_t token, int64_t deadline,
		      const char *what)
{
	struct evs_timer tm = { .when = deadline, .t = t, .token = token, .idx = -1 };
	if (deadline != INT64_MAX)
		evs_timer_add(&t->w->timers, &tm);
	int why = evs_task_park(what);
	evs_timer_del(&t->w->timers, &tm);
	return why;
}

static long why_to_ret(int why)
{
	switch (why) {
	case EVS_WAKE_TIMEOUT: return -ETIME;
	case EVS_WAKE_CLOSED: return -EBADF;
	case EVS_WAKE_CANCEL: return -ECANCELED;
	default: return 0;
	}
}

long evs_fd_wait(struct evs_fd *f, int fd, int dir, uint32_t seq, int64_t deadline)
{
	struct evs_task *t = evs_current();
	long r = ensure_registered(f, fd, t->w);
	if (r < 0)
		return r;
	if (deadline != INT64_MAX && evs_now_ns() >= deadline)
		return -ETIME;
	struct evs_waiter me = { .t = t };
	evs_spin_lock(&f->lock);
	if (__atomic_load_n(&f->seq[dir], __ATOMIC_ACQUIRE) != seq) {
		evs_spin_unlock(&f->lock);  /* an event came after the try */
		return 0;
	}
	me.token = evs_task_prepare_wait(t);
	enqueue(f, dir, &me);
	evs_spin_unlock(&f->lock);
	int why = park_until(t, me.token, deadline, dir == EVS_IN ? "fd-in" : "fd-out");
	unlink_waiter(f, dir, &me);
	return why_to_ret(why);
}

int64_t evs_fd_deadline(struct evs_fd *f, int dir)
{
	int64_t t = f->timeo[dir];
	return t ? evs_now_ns() + t : INT64_MAX;
}

long evs_fd_block(int fd, int dir, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = dir == EVS_IN ? POLLIN : POLLOUT };
	int ms = evs_ms_until(deadline);
	evs_stat_add(EVS_ST_fallbacks, 1);
	long r = evs_sys3(SYS_poll, &p, 1, ms);
	if (r == 0)
		return -ETIME;
	return r < 0 ? r : 0;
}

long evs_fd_io(struct evs_fd *f, int fd, int dir, evs_try_fn try, void *arg,
	       int nonblock, int64_t deadline)
{
	int woken = 0;
	long r;
	for (;;) {
		uint32_t seq = __atomic_load_n(&f->seq[dir], __ATOMIC_ACQUIRE);
		r = try(fd, arg);
		if (r != -EAGAIN || nonblock)
			break;
		r = evs_fd_wait(f, fd, dir, seq, deadline);
		if (r == -EOPNOTSUPP)
			r = evs_fd_block(fd, dir, deadline);
		if (r == -ETIME) {  /* SO_RCVTIMEO / SO_SNDTIMEO passed */
			r = -EAGAIN;
			break;
		}
		if (r == -ECANCELED) {
			evs_task_testcancel();
			continue;
		}
		if (r < 0)
			break;
		woken = 1;
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

long evs_fd_wait_many(struct evs_pollreq *r, int n, int64_t deadline)
{
	struct evs_task *t = evs_current();
	long ret = 0;
	for (int i = 0; i < n; i++) {
		if (!r[i].f || !r[i].dirs)
			continue;
		long e = ensure_registered(r[i].f, r[i].fd, t->w);
		if (e < 0)
			return e;
	}
	if (deadline != INT64_MAX && evs_now_ns() >= deadline)
		return -ETIME;
	uint64_t token = evs_task_prepare_wait(t);
	int i, stale = 0;
	for (i = 0; i < n && !stale; i++) {
		struct evs_fd *f = r[i].f;
		if (!f || !r[i].dirs)
			continue;
		r[i].w[0].queued = r[i].w[1].queued = 0;
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
			enqueue(f, d, &r[i].w[d]);
		}
		evs_spin_unlock(&f->lock);
	}
	int queued_upto = i;
	if (stale) {
		/* Close the wait we opened. Either this wake wins or an event
		 * already queued us; both leave us in the run queue, and the
		 * park consumes that entry. */
		evs_task_wake(t, token, EVS_WAKE_EVENT);
		evs_task_park("poll");
	} else {
		ret = why_to_ret(park_until(t, token, deadline, "poll"));
	}
	for (i = 0; i < queued_upto; i++) {
		if (!r[i].f)
			continue;
		for (int d = 0; d < 2; d++)
			if (r[i].dirs & (1 << d))
				unlink_waiter(r[i].f, d, &r[i].w[d]);
	}
	if (ret == -EBADF)  /* one of the fds was closed: let the check say so */
		ret = 0;
	return ret;
}
