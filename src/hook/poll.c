/* poll, ppoll, select, pselect and the program's own epoll_wait.
 *
 * Each asks the kernel first with a zero timeout (the real call, so the
 * answer is exactly the kernel's); if nothing is ready and the caller is
 * willing to wait, the task parks on every fd in the set (rt/fdwait.c)
 * until one of them sees an event or the timeout passes, then asks again.
 * A zero timeout never parks. The program's epoll fd is itself pollable,
 * so epoll_wait waits the same way.
 *
 * Differences (docs/differences.md): the signal mask argument of ppoll,
 * pselect and epoll_pwait is not applied while the task waits, and a
 * signal does not end the wait with EINTR. */
#include "fdio.h"
#include "../rt/timer.h"
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>

#define EVS_POLL_STACK 16  /* requests kept on the stack; more are malloc'd */

typedef int (*check_fn)(void *arg);

static int64_t deadline_ms(int ms)
{
	return ms < 0 ? INT64_MAX : evs_now_ns() + (int64_t)ms * 1000000;
}

static int64_t deadline_ts(const struct timespec *ts)
{
	if (!ts)
		return INT64_MAX;
	return evs_now_ns() + (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* Ask, park, ask again. Returns check's result; *fallback set when the
 * runtime cannot wait on one of the fds (the caller blocks for real). */
static int wait_loop(struct evs_pollreq *r, int n, int64_t deadline, check_fn check,
		     void *arg, int *fallback)
{
	*fallback = 0;
	for (;;) {
		evs_fd_snapshot(r, n);
		int got = check(arg);
		if (got != 0)
			return got;
		long w = evs_fd_wait_many(r, n, deadline);
		if (w == -ETIME)
			return check(arg);  /* the kernel's final word: 0 */
		if (w == -ECANCELED) {
			evs_task_testcancel();
			continue;
		}
		if (w < 0) {
			*fallback = 1;
			return 0;
		}
	}
}

/* --- poll ------------------------------------------------------------- */

struct pollargs {
	struct pollfd *fds;
	nfds_t n;
};

static int poll_check(void *p)
{
	struct pollargs *a = p;
	return REAL(poll)(a->fds, a->n, 0);
}

static int poll_dirs(short ev)
{
	int d = 0;
	if (ev & (POLLIN | POLLPRI | POLLRDHUP | POLLRDNORM | POLLRDBAND))
		d |= 1 << EVS_IN;
	if (ev & (POLLOUT | POLLWRNORM | POLLWRBAND))
		d |= 1 << EVS_OUT;
	return d ? d : 1 << EVS_IN;  /* events 0: still woken by hang-up */
}

static int do_poll(struct pollfd *fds, nfds_t n, int64_t deadline)
{
	struct evs_pollreq sb[EVS_POLL_STACK], *r = sb;
	if (n > EVS_POLL_STACK && !(r = calloc(n, sizeof(*r))))
		goto real;
	for (nfds_t i = 0; i < n; i++) {
		r[i].fd = fds[i].fd;
		r[i].dirs = fds[i].fd < 0 ? 0 : poll_dirs(fds[i].events);
	}
	struct pollargs a = { fds, n };
	int fb, got = wait_loop(r, (int)n, deadline, poll_check, &a, &fb);
	if (r != sb)
		free(r);
	if (!fb)
		return got;
real:
	EVS_FALLBACK();
	return REAL(poll)(fds, n, evs_ms_until(deadline));
}

EVS_HOOK int poll(struct pollfd *fds, nfds_t n, int ms)
{
	if (!evs_current() || ms == 0)
		return REAL(poll)(fds, n, ms);
	return do_poll(fds, n, deadline_ms(ms));
}

EVS_HOOK int __poll_chk(struct pollfd *fds, nfds_t n, int ms, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		return REAL(__poll_chk)(fds, n, ms, fdslen);
	return poll(fds, n, ms);
}

EVS_HOOK int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts,
		   const sigset_t *mask)
{
	if (!evs_current() || (ts && ts->tv_sec == 0 && ts->tv_nsec == 0))
		return REAL(ppoll)(fds, n, ts, mask);
	if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)) {
		errno = EINVAL;
		return -1;
	}
	return do_poll(fds, n, deadline_ts(ts));
}

/* --- select ----------------------------------------------------------- */

struct selargs {
	int nfds;
	fd_set *in[3], saved[3];
};

static int select_check(void *p)
{
	struct selargs *a = p;
	struct timeval zero = { 0, 0 };
	for (int k = 0; k < 3; k++)
		if (a->in[k])
			*a->in[k] = a->saved[k];
	return REAL(select)(a->nfds, a->in[0], a->in[1], a->in[2], &zero);
}

static int do_select(int nfds, fd_set **sets, int64_t deadline)
{
	struct selargs a = { .nfds = nfds, .in = { sets[0], sets[1], sets[2] } };
	for (int k = 0; k < 3; k++)
		if (sets[k])
			a.saved[k] = *sets[k];
	int n = 0;
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++)
		for (int k = 0; k < 3; k++)
			if (sets[k] && FD_ISSET(fd, sets[k])) {
				n++;
				break;
			}
	struct evs_pollreq sb[EVS_POLL_STACK], *r = sb;
	if (n > EVS_POLL_STACK && !(r = calloc((size_t)n, sizeof(*r))))
		return -2;
	int i = 0;
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++) {
		int d = 0;
		if ((sets[0] && FD_ISSET(fd, sets[0])) || (sets[2] && FD_ISSET(fd, sets[2])))
			d |= 1 << EVS_IN;
		if (sets[1] && FD_ISSET(fd, sets[1]))
			d |= 1 << EVS_OUT;
		if (d)
			r[i++] = (struct evs_pollreq){ .fd = fd, .dirs = d };
	}
	int fb, got = wait_loop(r, n, deadline, select_check, &a, &fb);
	if (r != sb)
		free(r);
	if (fb) {
		for (int k = 0; k < 3; k++)
			if (sets[k])
				*sets[k] = a.saved[k];
		return -2;
	}
	return got;
}

static void set_remaining(struct timeval *tv, int64_t deadline)
{
	int64_t left = deadline - evs_now_ns();
	if (left < 0)
		left = 0;
	tv->tv_sec = left / 1000000000;
	tv->tv_usec = (left % 1000000000) / 1000;
}

EVS_HOOK int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	if (!evs_current() || (tv && tv->tv_sec == 0 && tv->tv_usec == 0) || nfds < 0 ||
	    nfds > FD_SETSIZE)
		return REAL(select)(nfds, r, w, e, tv);
	if (tv && (tv->tv_sec < 0 || tv->tv_usec < 0)) {
		errno = EINVAL;
		return -1;
	}
	int64_t deadline = tv ? evs_now_ns() + (int64_t)tv->tv_sec * 1000000000 +
				(int64_t)tv->tv_usec * 1000 : INT64_MAX;
	fd_set *sets[3] = { r, w, e };
	int got = do_select(nfds, sets, deadline);
	if (got == -2) {
		EVS_FALLBACK();
		struct timeval left;
		if (tv)
			set_remaining(&left, deadline);
		got = REAL(select)(nfds, r, w, e, tv ? &left : NULL);
	}
	if (tv)  /* Linux reports the time not slept */
		set_remaining(tv, deadline);
	return got;
}

EVS_HOOK int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e,
		     const struct timespec *ts, const sigset_t *mask)
{
	if (!evs_current() || (ts && ts->tv_sec == 0 && ts->tv_nsec == 0) || nfds < 0 ||
	    nfds > FD_SETSIZE)
		return REAL(pselect)(nfds, r, w, e, ts, mask);
	fd_set *sets[3] = { r, w, e };
	int64_t deadline = deadline_ts(ts);
	int got = do_select(nfds, sets, deadline);
	if (got == -2) {
		EVS_FALLBACK();
		got = REAL(pselect)(nfds, r, w, e, ts, mask);
	}
	return got;
}

/* --- the program's epoll ---------------------------------------------- */

struct epargs {
	int epfd;
	struct epoll_event *ev;
	int max;
};

static int epoll_check(void *p)
{
	struct epargs *a = p;
	return REAL(epoll_wait)(a->epfd, a->ev, a->max, 0);
}

static int do_epoll(int epfd, struct epoll_event *ev, int max, int ms)
{
	struct evs_pollreq r = { .fd = epfd, .dirs = 1 << EVS_IN };
	struct epargs a = { epfd, ev, max };
	int64_t deadline = deadline_ms(ms);
	int fb, got = wait_loop(&r, 1, deadline, epoll_check, &a, &fb);
	if (!fb)
		return got;
	EVS_FALLBACK();
	return REAL(epoll_wait)(epfd, ev, max, evs_ms_until(deadline));
}

EVS_HOOK int epoll_wait(int epfd, struct epoll_event *ev, int max, int ms)
{
	if (!evs_current() || ms == 0 || max <= 0)
		return REAL(epoll_wait)(epfd, ev, max, ms);
	return do_epoll(epfd, ev, max, ms);
}

EVS_HOOK int epoll_pwait(int epfd, struct epoll_event *ev, int max, int ms,
			 const sigset_t *mask)
{
	if (!evs_current() || ms == 0 || max <= 0)
		return REAL(epoll_pwait)(epfd, ev, max, ms, mask);
	return do_epoll(epfd, ev, max, ms);
}
