/* poll, select and the program's own epoll_wait from a task.
 *
 * Each asks the kernel first with a zero timeout (the real call, so the
 * answer is exactly the kernel's); if nothing is ready and the caller is
 * willing to wait, the task parks on every fd in the set (fdwait.c) until
 * one of them sees an event or the deadline passes, then asks again. The
 * program's epoll fd is itself pollable, so epoll_wait waits the same way.
 * When epoll cannot hold one of the fds, the answer is EVS_USE_REAL and
 * the hook makes the real, blocking call. */
#include "../evs.h"
#include "fdio.h"
#include "sched.h"
#include "timer.h"
#include "../libc/real.h"
#include <errno.h>
#include <stdlib.h>

#define EVS_POLL_STACK 16  /* requests kept on the stack; more are malloc'd */

typedef int (*check_fn)(void *arg);

/* Ask, park, ask again. Returns check's result (>= 0 or -errno), or
 * EVS_USE_REAL. */
static long wait_loop(struct evs_pollreq *r, int n, int64_t deadline, check_fn check, void *arg)
{
	for (;;) {
		evs_fd_snapshot(r, n);
		int got = check(arg);
		if (got != 0)
			return got < 0 ? -errno : got;
		long w = evs_fd_wait_many(r, n, deadline);
		if (w == -ETIME) {
			got = check(arg);  /* the kernel's final word: 0 */
			return got < 0 ? -errno : got;
		}
		if (w == -ECANCELED) {
			evs_task_testcancel();
			continue;
		}
		if (w == -EINTR) {  /* never restarted (signal(7)) */
			if (evs_sig_run() & EVS_SIG_RAN)
				return -EINTR;
			continue;
		}
		if (w < 0)
			return w;
	}
}

/* Requests for n fds: on the stack up to EVS_POLL_STACK, else calloc'd. */
static struct evs_pollreq *reqs(int n, struct evs_pollreq *sb)
{
	return n > EVS_POLL_STACK ? calloc((size_t)n, sizeof(*sb)) : sb;
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

long evs_poll(struct pollfd *fds, nfds_t n, int64_t deadline)
{
	struct evs_pollreq sb[EVS_POLL_STACK], *r = reqs((int)n, sb);
	if (!r)
		return EVS_USE_REAL;
	for (nfds_t i = 0; i < n; i++) {
		r[i].fd = fds[i].fd;
		r[i].dirs = fds[i].fd < 0 ? 0 : poll_dirs(fds[i].events);
	}
	struct pollargs a = { fds, n };
	long got = wait_loop(r, (int)n, deadline, poll_check, &a);
	/* The program will read what poll found: its read tries first
	 * (fdtab.h, invariant 5: a skip there would wait for our poller). */
	for (nfds_t i = 0; got > 0 && i < n; i++)
		if (r[i].f && (fds[i].revents & (POLLIN | POLLRDNORM | POLLHUP | POLLERR)))
			evs_fd_seen_ready(r[i].f, EVS_IN);
	if (r != sb)
		free(r);
	return got;
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

long evs_select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, int64_t deadline)
{
	fd_set *sets[3] = { rd, wr, ex };
	struct selargs a = { .nfds = nfds, .in = { rd, wr, ex } };
	int n = 0;
	for (int k = 0; k < 3; k++)
		if (sets[k])
			a.saved[k] = *sets[k];
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++)
		for (int k = 0; k < 3; k++)
			if (sets[k] && FD_ISSET(fd, sets[k])) {
				n++;
				break;
			}
	struct evs_pollreq sb[EVS_POLL_STACK], *r = reqs(n, sb);
	if (!r)
		return EVS_USE_REAL;
	int i = 0;
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++) {
		int d = 0;
		if ((rd && FD_ISSET(fd, rd)) || (ex && FD_ISSET(fd, ex)))
			d |= 1 << EVS_IN;
		if (wr && FD_ISSET(fd, wr))
			d |= 1 << EVS_OUT;
		if (d)
			r[i++] = (struct evs_pollreq){ .fd = fd, .dirs = d };
	}
	long got = wait_loop(r, n, deadline, select_check, &a);
	if (r != sb)
		free(r);
	/* The sets as the program gave them: for the real call, and after
	 * an error (EINTR above all), where the kernel leaves them as they
	 * were and our looks had cleared them. kwsys (CMake) selects on the
	 * same set again while the answer is EINTR: with every bit cleared,
	 * that select waited on nothing, for ever. */
	if (got == EVS_USE_REAL || got < 0)
		for (int k = 0; k < 3; k++)
			if (sets[k])
				*sets[k] = a.saved[k];
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

long evs_epoll_wait(int epfd, struct epoll_event *ev, int max, int64_t deadline)
{
	struct evs_pollreq r = { .fd = epfd, .dirs = 1 << EVS_IN };
	struct epargs a = { epfd, ev, max };
	return wait_loop(&r, 1, deadline, epoll_check, &a);
}
