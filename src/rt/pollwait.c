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
#include "../libc/sys.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#define EVS_POLL_STACK 16  /* requests kept on the stack; more are malloc'd */

typedef int (*check_fn)(void *arg);
/* The call itself, waiting until deadline, made with evs_lone_syscall:
 * >= 0 or -errno. */
typedef long (*direct_fn)(void *arg, int64_t deadline);

/* The time left until deadline as a timespec for the kernel; NULL for no
 * deadline. */
static struct timespec *time_left(struct timespec *ts, int64_t deadline)
{
	if (deadline == INT64_MAX)
		return NULL;
	int64_t left = deadline - evs_now_ns();
	if (left < 0)
		left = 0;
	ts->tv_sec = left / 1000000000;
	ts->tv_nsec = left % 1000000000;
	return ts;
}

/* Ask, park, ask again; or, for the process's only task, the call itself
 * (sched.h, evs_lone_may_wait). Returns check's result (>= 0 or -errno),
 * or EVS_USE_REAL. stop_ends: a stop of the process ends the call with
 * EINTR, as Linux ends epoll_wait (rt/signal.h); poll and select go on. */
static long wait_loop(struct evs_pollreq *r, int n, int64_t deadline, check_fn check,
		      direct_fn direct, void *arg, bool stop_ends)
{
	int64_t stops = stop_ends ? evs_stop_mark() : 0;
	for (;;) {
		evs_fd_snapshot(r, n);
		if (evs_lone_may_wait(deadline)) {
			long got = direct(arg, deadline);
			if (got != -EINTR)
				return got;
			if (evs_sig_run() & EVS_SIG_RAN)
				return -EINTR;  /* never restarted (signal(7)) */
			if (stop_ends && evs_stop_since(stops))
				return -EINTR;
			continue;
		}
		int got = check(arg);
		if (got != 0)
			return got < 0 ? -errno : got;
		if (stop_ends)
			evs_stop_wait(1);
		long w = evs_fd_wait_many(r, n, deadline, stop_ends ? &stops : NULL);
		if (stop_ends)
			evs_stop_wait(-1);
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
			if (stop_ends && evs_stop_since(stops))
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
	bool ppoll;  /* the program called ppoll (its restart rule, below) */
};

static int poll_check(void *p)
{
	struct pollargs *a = p;
	return REAL(poll)(a->fds, a->n, 0);
}

/* The kernel's poll or ppoll, as the program called it: after a stop
 * (SIGSTOP, then SIGCONT) the kernel restarts poll with its end kept and
 * ppoll with the time it had left when stopped, so the stop's time is
 * added to a ppoll only (tests/progs/lone_poll_stop.c). */
static long poll_direct(void *p, int64_t deadline)
{
	struct pollargs *a = p;
	struct timespec ts;
	if (!a->ppoll)
		return evs_lone_syscall(SYS_poll, (long)a->fds, (long)a->n, evs_ms_until(deadline),
					0, 0, 0);
	return evs_lone_syscall(SYS_ppoll, (long)a->fds, (long)a->n, (long)time_left(&ts, deadline),
				0, 0, 0);
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

long evs_poll(struct pollfd *fds, nfds_t n, int64_t deadline, bool ppoll)
{
	struct evs_pollreq sb[EVS_POLL_STACK], *r = reqs((int)n, sb);
	if (!r)
		return EVS_USE_REAL;
	for (nfds_t i = 0; i < n; i++) {
		r[i].fd = fds[i].fd;
		r[i].dirs = fds[i].fd < 0 ? 0 : poll_dirs(fds[i].events);
	}
	struct pollargs a = { fds, n, ppoll };
	long got = wait_loop(r, (int)n, deadline, poll_check, poll_direct, &a, false);
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

/* The sets are nfds bits each, in longs, as the kernel reads and writes
 * them: a program with more than FD_SETSIZE fds allocates larger ones
 * (FD_ISSET's own check would stop at FD_SETSIZE). */
#define EVS_LONG_BITS (8 * (int)sizeof(unsigned long))

struct selargs {
	int nfds;
	size_t bytes;               /* of each set the kernel looks at */
	fd_set *in[3];
	unsigned long *saved[3];    /* the program's sets, as given */
};

static bool bit_set(const fd_set *s, int fd)
{
	const unsigned long *w = (const unsigned long *)s;
	return s && (w[fd / EVS_LONG_BITS] >> (fd % EVS_LONG_BITS) & 1);
}

static void select_reset(struct selargs *a)
{
	for (int k = 0; k < 3; k++)
		if (a->in[k])
			memcpy(a->in[k], a->saved[k], a->bytes);
}

static int select_check(void *p)
{
	struct selargs *a = p;
	struct timeval zero = { 0, 0 };
	select_reset(a);
	return REAL(select)(a->nfds, a->in[0], a->in[1], a->in[2], &zero);
}

static long select_direct(void *p, int64_t deadline)
{
	struct selargs *a = p;
	struct timespec ts;
	select_reset(a);
	return evs_lone_syscall(SYS_pselect6, a->nfds, (long)a->in[0], (long)a->in[1],
				(long)a->in[2], (long)time_left(&ts, deadline), 0);
}

/* The kernel reads and writes no more bits than its fd table holds (the
 * rest of nfds is not looked at): nor may we, the program's sets may be
 * no larger. -1: cannot tell. */
static int kernel_fd_table_size(void)
{
	char buf[2048];
	const char *v = evs_proc_status_field("/proc/self/status", "FDSize", buf, sizeof(buf));
	return v ? (int)strtol(v, NULL, 10) : -1;
}

long evs_select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, int64_t deadline)
{
	fd_set *sets[3] = { rd, wr, ex };
	int nbits = nfds;
	if (nfds > FD_SETSIZE) {
		int k = kernel_fd_table_size();
		if (k <= 0)
			return EVS_USE_REAL;
		if (k < nbits)
			nbits = k;
	}
	size_t bytes = (size_t)(nbits + EVS_LONG_BITS - 1) / EVS_LONG_BITS * sizeof(unsigned long);
	unsigned long sb_saved[3][FD_SETSIZE / EVS_LONG_BITS], *heap = NULL;
	struct selargs a = { .nfds = nfds, .bytes = bytes, .in = { rd, wr, ex } };
	if (bytes > sizeof(sb_saved[0]) && !(heap = malloc(3 * bytes)))
		return EVS_USE_REAL;
	int n = 0;
	for (int k = 0; k < 3; k++) {
		a.saved[k] = heap ? heap + k * (bytes / sizeof(unsigned long)) : sb_saved[k];
		if (sets[k])
			memcpy(a.saved[k], sets[k], bytes);
	}
	for (int fd = 0; fd < nbits; fd++)
		n += bit_set(rd, fd) || bit_set(wr, fd) || bit_set(ex, fd);
	struct evs_pollreq sb[EVS_POLL_STACK], *r = reqs(n, sb);
	if (!r) {
		free(heap);
		return EVS_USE_REAL;
	}
	int i = 0;
	for (int fd = 0; fd < nbits; fd++) {
		int d = 0;
		if (bit_set(rd, fd) || bit_set(ex, fd))
			d |= 1 << EVS_IN;
		if (bit_set(wr, fd))
			d |= 1 << EVS_OUT;
		if (d)
			r[i++] = (struct evs_pollreq){ .fd = fd, .dirs = d };
	}
	long got = wait_loop(r, n, deadline, select_check, select_direct, &a, false);
	if (r != sb)
		free(r);
	/* The sets as the program gave them: for the real call, and after
	 * an error (EINTR above all), where the kernel leaves them as they
	 * were and our looks had cleared them. kwsys (CMake) selects on the
	 * same set again while the answer is EINTR: with every bit cleared,
	 * that select waited on nothing, for ever. */
	if (got == EVS_USE_REAL || got < 0)
		select_reset(&a);
	free(heap);
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

static int no_pwait2;  /* Linux before 5.11: epoll_pwait, in milliseconds */

static long epoll_direct(void *p, int64_t deadline)
{
	struct epargs *a = p;
	struct timespec ts, *left = time_left(&ts, deadline);
	if (!__atomic_load_n(&no_pwait2, __ATOMIC_RELAXED)) {
		long r = evs_lone_syscall(SYS_epoll_pwait2, a->epfd, (long)a->ev, a->max, (long)left,
					  0, 0);
		if (r != -ENOSYS)
			return r;
		__atomic_store_n(&no_pwait2, 1, __ATOMIC_RELAXED);
	}
	return evs_lone_syscall(SYS_epoll_pwait, a->epfd, (long)a->ev, a->max,
				evs_ms_until(deadline), 0, 0);
}

long evs_epoll_wait(int epfd, struct epoll_event *ev, int max, int64_t deadline)
{
	struct evs_pollreq r = { .fd = epfd, .dirs = 1 << EVS_IN };
	struct epargs a = { epfd, ev, max };
	return wait_loop(&r, 1, deadline, epoll_check, epoll_direct, &a, true);
}
