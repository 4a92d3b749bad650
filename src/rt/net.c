/* accept and connect from a task, through the one wait loop (fdwait.c). */
#include "../evs.h"
#include "fdio.h"
#include "sched.h"
#include "tls.h"
#include "../io/nop.h"
#include "../libc/sys.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>

/* --- accept ----------------------------------------------------------- */

struct acc {
	struct sockaddr *addr;
	socklen_t *len;
	int flags;
};

static long try_accept(int fd, void *arg, struct evs_try *st)
{
	struct acc *a = arg;
	if (st->ringed)
		return st->res;
	return evs_sys6(SYS_accept4, fd, a->addr, a->len, a->flags, 0, 0);
}

/* The accept as an operation for the worker's ring (fdtab.h): not with
 * the address or its length in swapped TLS. */
static bool prep_accept(int fd, void *arg, struct evs_nop *op)
{
	struct acc *a = arg;
	if (a->len && (evs_tls_overlaps(a->len, sizeof(*a->len)) ||
		       (a->addr && evs_tls_overlaps(a->addr, *a->len))))
		return false;
	*op = (struct evs_nop){ .kind = EVS_NOP_ACCEPT, .fd = fd, .addr = a->addr, .alen = a->len,
				.flags = a->flags };
	return true;
}

/* accept has no per-call non-blocking flag: the shim sets O_NONBLOCK on a
 * listening socket the first time a task accepts on it and hides it from
 * the program (fcntl, ioctl). The accepted socket does not inherit it.
 *
 * The flag may already be on: another process sharing the listener (a
 * pre-forking server's other child, under the shim too) set it. The
 * program's own view is the record's, which every fcntl and FIONBIO of
 * the program keeps up to date, so a flag the record does not show is
 * the shim's, not the program's: taking it for the program's would give
 * a program that asked to block EAGAIN on every accept. */
static long make_acceptable(struct evs_fd *f, int fd)
{
	if (f->nonblock || f->shim_nonblock)
		return 0;
	long fl = evs_sys_fcntl(fd, F_GETFL, 0);
	if (fl < 0)
		return fl;
	if (!(fl & O_NONBLOCK)) {
		long r = evs_sys_fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		if (r < 0)
			return r;
	}
	f->shim_nonblock = 1;
	return 0;
}

bool evs_fd_shims_listener(struct evs_fd *f, int fd)
{
	int on = 0;
	socklen_t l = sizeof(on);
	if (f->kind != EVS_FD_SOCKET ||
	    evs_sys6(SYS_getsockopt, fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &l, 0) < 0 || !on)
		return false;
	f->shim_nonblock = 1;  /* another process's shim set it: see above */
	return true;
}

long evs_accept(struct evs_fd *f, int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	/* Not a socket (a FIFO, a pipe, a file, a device): the kernel answers
	 * ENOTSOCK at once, never waits. Made here, not counted as a call
	 * the runtime left to libc: dovecot's services accept on each fd
	 * they inherit and take ENOTSOCK to mean a FIFO listener. */
	long r;
	if (f->kind != EVS_FD_SOCKET) {
		r = evs_sys6(SYS_accept4, fd, addr, len, flags, 0, 0);
	} else {
		if (make_acceptable(f, fd) < 0)
			return EVS_USE_REAL;
		struct acc a = { addr, len, flags };
		/* What a read found (empty) says nothing of accept, which on
		 * a socket not listening fails at once (EINVAL): it tries
		 * before any wait (it waited for ever on a socket a recv had
		 * found empty). */
		evs_fd_seen_ready(f, EVS_IN);
		r = evs_fd_io(f, fd, EVS_IN, try_accept, prep_accept, &a, f->nonblock,
			      evs_fd_deadline(f, EVS_IN));
	}
	if (r >= 0) {
		evs_fd_reset((int)r, EVS_FD_SOCKET, !!(flags & SOCK_NONBLOCK), 1);
		struct evs_fd *n = evs_fd_get((int)r);
		if (n) {  /* Linux copies the listener's timeouts to the child */
			n->timeo[0] = f->timeo[0];
			n->timeo[1] = f->timeo[1];
			n->tcp = f->tcp;
			n->unix_stream = f->unix_stream;
		}
	}
	return r == -ETIME ? -EAGAIN : r;
}

/* --- connect ---------------------------------------------------------- */

/* A blocking connect: made non-blocking for the one call, then the task
 * waits for writability and reads SO_ERROR, as the kernel would report
 * it. SO_SNDTIMEO bounds the wait (EINPROGRESS on timeout, as Linux).
 * A connection already established when that call returns (loopback: the
 * kernel ends the handshake on the call's way out) is connected at once,
 * as the blocking call would have returned 0: a reset that comes before
 * the task would look otherwise made connect itself fail with ECONNRESET,
 * where natively the next call sees it (tests/progs/connect_then_reset.c;
 * stress-ng --sockabuse slept after each, taking it for a refusal). */
struct conn {
	struct evs_fd *f;
	const struct sockaddr *sa;
	socklen_t len;
	long fl;                 /* the file's flags, restored after the call */
	int started;             /* the handshake is under way */
};

/* The call again, once it is under way: 0 when the handshake is over,
 * which also marks the socket connected for the kernel (natively after a
 * blocking connect a second connect fails with EISCONN; after an
 * EINPROGRESS the kernel answers 0 to the first one made after the
 * handshake, so without this call the program's next connect answered 0);
 * EALREADY (-EAGAIN here) while it goes on; the error if it failed. */
static long connect_again(int fd, struct conn *c)
{
	long r = evs_sys3(SYS_connect, fd, c->sa, c->len);
	return r == -EALREADY ? -EAGAIN : r;
}

static long try_connect(int fd, void *arg, struct evs_try *st)
{
	struct conn *c = arg;
	if (!c->started) {
		evs_sys_fcntl(fd, F_SETFL, c->fl | O_NONBLOCK);
		long r = evs_sys3(SYS_connect, fd, c->sa, c->len);
		if (r == -EINPROGRESS) {
			r = connect_again(fd, c);  /* established already? */
			if (r == -EAGAIN)
				r = -EINPROGRESS;
		}
		evs_sys_fcntl(fd, F_SETFL, c->fl);
		if (r != -EINPROGRESS)
			return r;  /* done, failed, or EAGAIN: AF_UNIX backlog full */
		c->started = 1;
		return -EAGAIN;
	}
	int err = 0;
	socklen_t el = sizeof(err);
	long g = evs_sys6(SYS_getsockopt, fd, SOL_SOCKET, SO_ERROR, &err, &el, 0);
	if (g < 0)
		return g;
	if (err)
		return -err;
	/* No error: connected, or still in progress after a wake for another
	 * reason (getpeername fails with ENOTCONN until the handshake ends;
	 * connect itself would wait: the socket is blocking again). */
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (evs_sys3(SYS_getpeername, fd, &ss, &sl) != 0)
		return -EAGAIN;
	long r = connect_again(fd, c);
	if (r < 0 && r != -EAGAIN) {
		/* reset since the look: natively the blocking call had
		 * returned 0, and the next call gets the error */
		__atomic_store_n(&c->f->pending_err, (int)-r, __ATOMIC_RELEASE);
		r = 0;
	}
	return r;
}

long evs_connect(struct evs_fd *f, int fd, const struct sockaddr *sa, socklen_t len)
{
	if (f->kind != EVS_FD_SOCKET || f->nonblock || f->shim_nonblock)
		return EVS_USE_REAL;
	struct conn c = { f, sa, len, evs_sys_fcntl(fd, F_GETFL, 0), 0 };
	if (c.fl < 0 || (c.fl & O_NONBLOCK))
		return EVS_USE_REAL;
	evs_fd_seen_ready(f, EVS_OUT);  /* a full send buffer says nothing of connect */
	long r = evs_fd_io(f, fd, EVS_OUT, try_connect, NULL, &c, 0, evs_fd_deadline(f, EVS_OUT));
	if (r == -ETIME)
		return c.started ? -EINPROGRESS : -EAGAIN;
	return r;
}
