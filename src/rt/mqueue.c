/* POSIX message queues: mq_receive, mq_timedreceive, mq_send and
 * mq_timedsend on a queue the program left blocking.
 *
 * glibc makes them as plain system calls, which wait in the kernel on the
 * worker: a task waiting for a message held its worker, and a sender that
 * had run there (main, say) never ran to send it (a hang on one worker,
 * and on any number once the waiters outnumber them). A queue's fd is
 * pollable (POLLIN: a message waits; POLLOUT: there is room), and the
 * call given an absolute time already past never waits: ETIMEDOUT where
 * it would have waited (EAGAIN on a non-blocking queue). So the blocking
 * call is the fd loop's (rt/fdwait.c) with that call as its try: the task
 * parks on the fd until it is ready, the program's deadline, a signal
 * (EINTR after a handler without SA_RESTART, else the call goes on, as
 * the kernel restarts it: signal(7)) or a cancellation. */
#include "../evs.h"
#include "fdio.h"
#include "fdtab.h"
#include "sched.h"
#include "timer.h"
#include "../libc/sys.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <time.h>

struct mq_call {
	int out;
	char *buf;
	size_t len;
	unsigned *rprio;         /* mq_receive's out-parameter (may be NULL) */
	unsigned sprio;          /* mq_send's priority */
};

static long try_mq(int fd, void *arg, struct evs_try *st)
{
	(void)st;
	struct mq_call *c = arg;
	static const struct timespec past = { 0, 0 };
	long r = c->out ? evs_sys6(SYS_mq_timedsend, fd, c->buf, c->len, c->sprio, &past, 0)
			: evs_sys6(SYS_mq_timedreceive, fd, c->buf, c->len, c->rprio, &past, 0);
	/* a queue made non-blocking while the call waits: natively the
	 * waiter already in the kernel waits on too */
	return r == -ETIMEDOUT ? -EAGAIN : r;
}

long evs_mq_xfer(int fd, char *buf, size_t len, unsigned *rprio, unsigned sprio, int out,
		 const struct timespec *abs)
{
	if (!evs_current())
		return EVS_USE_REAL;
	/* an invalid time is EINVAL before anything else: the kernel's at once */
	if (abs && (abs->tv_sec < 0 || abs->tv_nsec < 0 || abs->tv_nsec >= 1000000000))
		return EVS_USE_REAL;
	long fl = evs_sys_fcntl(fd, F_GETFL, 0);
	if (fl < 0)
		return EVS_USE_REAL;  /* EBADF, said by the real call */
	struct evs_fd *f = evs_fd_get(fd);
	if (!f)
		return EVS_USE_REAL;
	struct mq_call c = { .out = out, .buf = buf, .len = len, .rprio = rprio, .sprio = sprio };
	int64_t deadline = evs_abs_deadline(CLOCK_REALTIME, abs);
	/* never park before the first try: the kernel answers a wrong size
	 * (EMSGSIZE) or a queue not open for this direction (EBADF) at once */
	evs_fd_seen_ready(f, out ? EVS_OUT : EVS_IN);
	long r = evs_fd_io(f, fd, out ? EVS_OUT : EVS_IN, try_mq, NULL, &c, !!(fl & O_NONBLOCK),
			   deadline);
	return r == -ETIME ? -ETIMEDOUT : r;
}
