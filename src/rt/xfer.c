/* Moving bytes through a socket, a pipe, or another pollable fd (a tty,
 * an eventfd, a timerfd, a signalfd, inotify) without blocking the worker.
 *
 * Sockets: recvmsg/sendmsg with MSG_DONTWAIT per call. Pipes and FIFOs:
 * preadv2/pwritev2 with RWF_NOWAIT at the current position (-1). The
 * others: poll first, then the plain call. None of them touches the file
 * description's O_NONBLOCK, so a child process, a dup'd fd or stdio
 * sharing the description sees exactly what the program set.
 *
 * Blocking semantics kept: a blocking write returns when everything is
 * written (or on an error after partial progress, with the count, as the
 * kernel does); MSG_WAITALL gathers until full, EOF or error; a program
 * that asked for non-blocking (O_NONBLOCK, MSG_DONTWAIT) gets EAGAIN. */
#include "../evs.h"
#include "fdio.h"
#include "pipe.h"
#include "sched.h"
#include "task.h"
#include "timer.h"
#include "tls.h"
#include "../io/nop.h"
#include "../libc/sys.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <stdlib.h>
#include <string.h>

static void advance(struct evs_xfer *x, size_t n)
{
	x->done += n;
	while (n && x->cnt) {
		if (n < x->iov->iov_len) {
			x->iov->iov_base = (char *)x->iov->iov_base + n;
			x->iov->iov_len -= n;
			return;
		}
		n -= x->iov->iov_len;
		x->iov++;
		x->cnt--;
	}
	while (x->cnt && x->iov->iov_len == 0) {
		x->iov++;
		x->cnt--;
	}
}

static size_t iov_len(const struct iovec *v, int cnt)
{
	size_t n = 0;
	for (int i = 0; i < cnt; i++)
		n += v[i].iov_len;
	return n;
}

/* The msghdr of an attempt: name and control go only with the first. */
static void build_msg(struct evs_xfer *x)
{
	struct msghdr *m = &x->m;
	*m = (struct msghdr){ 0 };
	if (x->msg && x->done == 0) {  /* name and control only once */
		*m = *x->msg;
		m->msg_flags = 0;
	}
	m->msg_iov = x->iov;
	m->msg_iovlen = (size_t)x->cnt;
}

/* A buffer in swapped TLS (a `static __thread` array) holds another
 * task's bytes while this one is parked, so the ring gets a bounce buffer
 * instead: filled from the program's buffers when the operation is
 * queued (a send), copied into them when its result comes back (a
 * receive), both while this task runs. Up to EVS_NET_BOUNCE_MAX bytes;
 * larger transfers wait for readiness instead. */
#define EVS_NET_BOUNCE_MAX (64 * 1024)

static void scatter(struct evs_xfer *x, size_t n)
{
	const char *b = x->bounce;
	for (int i = 0; i < x->cnt && n; i++) {
		size_t k = x->iov[i].iov_len < n ? x->iov[i].iov_len : n;
		memcpy(x->iov[i].iov_base, b, k);
		b += k;
		n -= k;
	}
}

/* The bounce buffer for the rest of the transfer (sends: filled). */
static bool bounce(struct evs_xfer *x, size_t total, int out)
{
	if (total > EVS_NET_BOUNCE_MAX)
		return false;
	if (x->bounce_len < total) {
		void *b = realloc(x->bounce, total ? total : 1);
		if (!b)
			return false;
		x->bounce = b;
		x->bounce_len = total;
	}
	if (out) {
		char *b = x->bounce;
		for (int i = 0; i < x->cnt; i++) {
			memcpy(b, x->iov[i].iov_base, x->iov[i].iov_len);
			b += x->iov[i].iov_len;
		}
	}
	return true;
}

/* Calls on an eventfd, timerfd or signalfd that the kernel answers at
 * once (EINVAL), before it looks at the fd's state: a read or write
 * shorter than its unit, a write of the value an eventfd refuses, a
 * write to a timerfd or signalfd. poll never reports them ready (a
 * timerfd is never writable): they would wait for ever. */
static bool answered_at_once(const struct evs_xfer *x, int out)
{
	size_t n = iov_len(x->iov, x->cnt);
	switch (x->f->anon_kind) {
	case EVS_ANON_EVENTFD:
		if (n < 8)
			return true;
		if (out && x->iov[0].iov_len >= 8) {
			uint64_t v;
			memcpy(&v, x->iov[0].iov_base, sizeof(v));
			return v == UINT64_MAX;
		}
		return false;
	case EVS_ANON_TIMERFD:
		return out || n < 8;
	case EVS_ANON_SIGNALFD:
		return out || n < sizeof(struct signalfd_siginfo);
	default:
		return false;
	}
}

/* One attempt, or (st->ringed) the result of the one the ring made. */
static long once(int fd, struct evs_xfer *x, int out, const struct evs_try *st)
{
	if (x->f->kind == EVS_FD_PIPE) {
		long r = evs_sys6(out ? SYS_pwritev2 : SYS_preadv2, fd, x->iov, x->cnt,
				  -1, 0, RWF_NOWAIT);
		if (r != -EOPNOTSUPP)
			return r;
		/* A FIFO opened by name has no RWF_NOWAIT (pipe() ones do):
		 * from now on it is served like a tty, poll then the call. */
		__atomic_store_n(&x->f->kind, EVS_FD_OTHER, __ATOMIC_RELEASE);
	}
	if (x->f->kind == EVS_FD_OTHER) {
		/* A tty, an eventfd, a timerfd, a signalfd, inotify...: no
		 * per-call non-blocking form, and O_NONBLOCK is the file
		 * description's (a tty is shared with the shell). Ask poll
		 * first; a reader that takes the data between the two calls
		 * makes the second one wait in the kernel. Not for an
		 * eventfd, signalfd, timerfd... the program made non-blocking
		 * (PostgreSQL's latch signalfd, libuv's and GLib's wake-up
		 * eventfds): the call itself cannot wait, and such an fd is
		 * the process's own, no shell's to change (one that was
		 * dup'd had its flag looked up afresh: fresh_view). */
		if (x->f->anon && (x->f->nonblock || answered_at_once(x, out)))
			return evs_sys3(out ? SYS_writev : SYS_readv, fd, x->iov, x->cnt);
		long r = evs_sys_poll1(fd, out ? POLLOUT : POLLIN, 0);
		if (r == 0)
			return -EAGAIN;
		if (r < 0)
			return r;
		return evs_sys3(out ? SYS_writev : SYS_readv, fd, x->iov, x->cnt);
	}
	long r;
	if (st->ringed) {
		r = st->res;  /* x->m is the ring's, names and flags written back */
		if (x->bounced && !out && r > 0)  /* our TLS is resident again */
			scatter(x, (size_t)r);
	} else {
		/* MSG_NOSIGNAL: a SIGPIPE is the program's business only when
		 * it is told EPIPE (finish() sends it then), not at a retry of
		 * ours. */
		int fl = x->flags | MSG_DONTWAIT | (out ? MSG_NOSIGNAL : 0);
		if (!x->msg && x->cnt == 1 && (out || !x->f->unix_stream))
			/* read, write, recv, send: one buffer, no name, nothing
			 * to carry back. recvfrom/sendto without an address
			 * skip the msghdr and iovec copies of recvmsg/sendmsg
			 * (no difference measured on TCP loopback, where the
			 * pair costs 8 us either way) and show in strace as
			 * what the program called. Not an AF_UNIX stream's
			 * read: whether it stopped early at a message carrying
			 * descriptors shows only in recvmsg's flags (try_in). */
			return evs_sys6(out ? SYS_sendto : SYS_recvfrom, fd,
					(long)x->iov[0].iov_base, (long)x->iov[0].iov_len, fl, 0, 0);
		build_msg(x);
		r = evs_sys3(out ? SYS_sendmsg : SYS_recvmsg, fd, &x->m, fl);
	}
	if (r >= 0 && x->msg && x->done == 0 && !out) {
		x->msg->msg_namelen = x->m.msg_namelen;
		x->msg->msg_controllen = x->m.msg_controllen;
		x->msg->msg_flags = x->m.msg_flags;
	}
	return r;
}

/* MSG_* flags the ring carries as the plain call does. The others (OOB,
 * the error queue, zero copy, MSG_CMSG_CLOEXEC...) stay on the readiness
 * path. */
#define RING_FLAGS (MSG_PEEK | MSG_WAITALL | MSG_TRUNC | MSG_NOSIGNAL | MSG_MORE | MSG_EOR | \
		    MSG_DONTROUTE | MSG_CONFIRM)

/* The attempt as a socket operation for the worker's ring (fdtab.h,
 * evs_prep_fn): sockets only, no ancillary data, no address in swapped
 * TLS; data buffers there go through a bounce buffer (above). One buffer
 * and nothing to carry back but msg_flags, which a stream socket leaves 0
 * without ancillary data: a plain recv or send, cheaper for the kernel
 * than recvmsg or sendmsg. */
static bool prep(int fd, struct evs_xfer *x, struct evs_nop *op, int out)
{
	if (x->f->kind != EVS_FD_SOCKET || (x->flags & ~RING_FLAGS))
		return false;
	build_msg(x);
	if (x->m.msg_control && x->m.msg_controllen)
		return false;
	if (x->m.msg_name && evs_tls_overlaps(x->m.msg_name, x->m.msg_namelen))
		return false;
	size_t total = iov_len(x->iov, x->cnt);
	x->bounced = false;
	for (int i = 0; i < x->cnt && !x->bounced; i++)
		x->bounced = evs_tls_overlaps(x->iov[i].iov_base, x->iov[i].iov_len);
	if (x->bounced) {
		if (!bounce(x, total, out))
			return false;
		x->biov = (struct iovec){ x->bounce, total };
		x->m.msg_iov = &x->biov;
		x->m.msg_iovlen = 1;
		evs_stat_add(EVS_ST_net_ring_bounced, 1);
	}
	*op = (struct evs_nop){ .fd = fd, .flags = (x->flags & ~MSG_WAITALL) | (out ? MSG_NOSIGNAL : 0) };
	if (x->m.msg_iovlen == 1 && (!x->msg || (x->f->stream && !x->m.msg_name))) {
		op->kind = out ? EVS_NOP_SEND : EVS_NOP_RECV;
		op->buf = x->m.msg_iov[0].iov_base;
		op->len = x->m.msg_iov[0].iov_len;
	} else {
		op->kind = out ? EVS_NOP_SENDMSG : EVS_NOP_RECVMSG;
		op->msg = &x->m;
	}
	return true;
}

static bool prep_in(int fd, void *arg, struct evs_nop *op)
{
	return prep(fd, arg, op, 0);
}

static bool prep_out(int fd, void *arg, struct evs_nop *op)
{
	return prep(fd, arg, op, 1);
}

/* An error our own retry got after some bytes moved: the program is told
 * the count now, and the error at its next call on that socket, as the
 * kernel would have kept it (sk_err) for that call. */
static long after_progress(struct evs_xfer *x, long r)
{
	if (r == -EAGAIN || !x->done)
		return r;
	if (x->f->kind == EVS_FD_SOCKET)
		__atomic_store_n(&x->f->pending_err, (int)-r, __ATOMIC_RELEASE);
	return (long)x->done;
}

static long try_in(int fd, void *arg, struct evs_try *st)
{
	struct evs_xfer *x = arg;
	size_t want = iov_len(x->iov, x->cnt);
	long r = once(fd, x, 0, st);
	if (r < 0)
		return after_progress(x, r);
	/* A short read of a TCP socket took all there was (fdtab.h,
	 * invariant 5); not a peek (the bytes are still there), not end of
	 * file, not urgent data (the read stops at its mark). An AF_UNIX
	 * stream's also stops where a message carrying descriptors or other
	 * credentials begins: those come with a control message (or
	 * MSG_CTRUNC without room for it), which the ring's plain recv does
	 * not report, so only the readiness path's own recvmsg counts. Not
	 * pipes: a packet-mode writer (O_DIRECT on its end, which another
	 * process or the kernel may set unseen) makes each read stop at a
	 * packet; only EAGAIN proves a pipe empty. A full read may have
	 * left more. */
	bool proof = x->f->tcp ||
		(x->f->unix_stream && !st->ringed && !(x->m.msg_flags & MSG_CTRUNC) &&
		 !(x->m.msg_control && x->m.msg_controllen));
	st->drained = r > 0 && (size_t)r < want && proof && !(x->flags & (MSG_PEEK | MSG_OOB));
	st->more = r > 0 && (size_t)r == want;
	st->got = r;
	st->peek = x->flags & MSG_PEEK;
	if (r == 0 || !x->all)
		return (long)x->done + r;
	advance(x, (size_t)r);
	if (!x->cnt)
		return (long)x->done;
	if (x->nonblock)
		return (long)x->done;
	/* Wait for the rest: this EAGAIN is ours, not the kernel's, and
	 * proves the fd empty only as a short read does. */
	st->partial = true;
	return -EAGAIN;
}

static long try_out(int fd, void *arg, struct evs_try *st)
{
	struct evs_xfer *x = arg;
	size_t want = iov_len(x->iov, x->cnt);
	long r = once(fd, x, 1, st);
	if (r < 0)
		return after_progress(x, r);
	st->more = (size_t)r == want;  /* there was room for all of it */
	advance(x, (size_t)r);
	if (!x->cnt || !x->f->stream)
		return (long)x->done;
	return x->nonblock ? (long)x->done : -EAGAIN;  /* socket buffer full */
}

struct iovec *evs_iov_copy(const struct iovec *iov, int cnt, struct iovec *stackbuf)
{
	struct iovec *v = stackbuf;
	if (cnt > EVS_IOV_STACK && !(v = malloc(sizeof(*v) * (size_t)cnt)))
		return NULL;
	for (int i = 0; i < cnt; i++)
		v[i] = iov[i];
	return v;
}

void evs_iov_free(struct iovec *iov, struct iovec *stackbuf)
{
	if (iov != stackbuf)
		free(iov);
}

void evs_fd_reclassify(int fd)
{
	evs_fd_reset(fd, EVS_FD_UNKNOWN, 0, 0);
}

/* What the wait loop's answer means for a transfer: a timeout
 * (SO_RCVTIMEO/SO_SNDTIMEO) is EAGAIN; a timeout or close after partial
 * progress returns the count; an fd that is not what the record said (a
 * number reused behind our back, a kernel without RWF_NOWAIT for pipes)
 * sends the caller to the real call. */
static long finish(int fd, struct evs_xfer *x, long r)
{
	if (r < 0 && x->done)
		return (long)x->done;
	if (r == -ETIME)
		return -EAGAIN;
	if (r == -ENOTSOCK || r == -EOPNOTSUPP || r == -ESPIPE) {
		evs_fd_reclassify(fd);
		return EVS_USE_REAL;
	}
	return r;
}

/* The error a previous call of ours kept for this one, if any. */
static long kept_error(struct evs_fd *f)
{
	if (!__atomic_load_n(&f->pending_err, __ATOMIC_RELAXED))
		return 0;
	return -(long)__atomic_exchange_n(&f->pending_err, 0, __ATOMIC_ACQ_REL);
}

/* A plain blocking read of a pipe made here may offer its buffers to the
 * pipe's writers while it waits (rt/pipe.h): not one whose buffers may
 * hold another task's bytes while it is parked (swapped TLS). */
static bool offers(struct evs_xfer *x)
{
	if (x->f->kind != EVS_FD_PIPE || x->nonblock || x->msg || x->flags ||
	    !evs_pipe_offers(x->f))
		return false;
	for (int i = 0; i < x->cnt; i++)
		if (evs_tls_overlaps(x->iov[i].iov_base, x->iov[i].iov_len))
			return false;
	return iov_len(x->iov, x->cnt) > 0;
}

/* O_NONBLOCK is the open file description's: an eventfd, signalfd,
 * timerfd... that was dup'd may have been made blocking or non-blocking
 * through the copy. Its recorded view is looked up again before each
 * call, so that the read without a poll (once) is made only when the
 * description really is non-blocking (else it waited on the worker), and
 * a wait is made only when it is blocking (else EAGAIN was the answer). */
static void fresh_view(int fd, struct evs_fd *f)
{
	if (!f->anon || !f->dup_shared)
		return;
	long fl = evs_sys_fcntl(fd, F_GETFL, 0);
	if (fl >= 0)
		__atomic_store_n(&f->nonblock, (uint8_t)!!(fl & O_NONBLOCK), __ATOMIC_RELAXED);
}

long evs_xfer_in(int fd, struct evs_xfer *x)
{
	long r = kept_error(x->f);
	if (r)
		return r;
	fresh_view(fd, x->f);
	/* a read of the error queue or of urgent data never waits: the
	 * kernel answers at once (EAGAIN, EINVAL), blocking socket or not */
	x->nonblock |= x->f->nonblock || (x->flags & (MSG_DONTWAIT | MSG_ERRQUEUE | MSG_OOB)) ||
		       (x->f->kind == EVS_FD_PIPE && !iov_len(x->iov, x->cnt)) ||  /* pipe_read: 0 */
		       (x->f->anon && answered_at_once(x, 0));
	if (x->flags & MSG_PEEK)
		x->all = 0;
	struct evs_handin h, *offer = NULL;
	if (offers(x)) {
		h = (struct evs_handin){ .f = x->f, .iov = x->iov, .cnt = x->cnt,
					 .len = iov_len(x->iov, x->cnt) };
		offer = &h;
	}
	r = finish(fd, x, evs_fd_io_offering(x->f, fd, EVS_IN, try_in, prep_in, x, x->nonblock,
					     evs_fd_deadline(x->f, EVS_IN), offer));
	free(x->bounce);  /* the ring is done with it (rt/netring.h) */
	if (r > 0 && !(x->flags & MSG_PEEK))
		evs_fd_poke_peer(x->f, EVS_OUT, r);  /* room for a writer of this process */
	return r;
}

long evs_xfer_out(int fd, struct evs_xfer *x)
{
	long r = kept_error(x->f);
	if (!r && x->f->kind == EVS_FD_PIPE && !x->msg) {
		long given = evs_pipe_give(x->f, fd, x->iov, x->cnt);
		if (given > 0)
			return given;  /* a reader of this process has them (rt/pipe.h) */
	}
	if (!r) {
		fresh_view(fd, x->f);
		/* nothing to write to a pipe or a stream socket: 0 at once,
		 * full or not (a datagram of 0 bytes is one to send) */
		x->nonblock |= x->f->nonblock || (x->flags & MSG_DONTWAIT) ||
			       ((x->f->kind == EVS_FD_PIPE || x->f->stream) && !iov_len(x->iov, x->cnt)) ||
			       (x->f->anon && answered_at_once(x, 1));
		r = finish(fd, x, evs_fd_io(x->f, fd, EVS_OUT, try_out, prep_out, x, x->nonblock,
					    evs_fd_deadline(x->f, EVS_OUT)));
		free(x->bounce);
		if (r > 0)
			evs_fd_poke_peer(x->f, EVS_IN, r);  /* data for a reader of this process */
	}
	/* A socket write that fails with EPIPE raises SIGPIPE, unless the
	 * program said MSG_NOSIGNAL (pipes: the kernel has sent it). */
	if (r == -EPIPE && x->f->kind == EVS_FD_SOCKET && !(x->flags & MSG_NOSIGNAL)) {
		siginfo_t si = { .si_signo = SIGPIPE, .si_code = SI_USER };
		si.si_pid = getpid();  /* as the kernel fills it */
		si.si_uid = getuid();
		evs_sig_send(evs_current(), SIGPIPE, &si);
	}
	return r;
}

/* recvmmsg/sendmmsg, blocking form: keep going until all vlen messages
 * moved (MSG_WAITFORONE: until the first), as the kernel does; an error or
 * a timeout after some messages returns the count so far.
 * recvmmsg's timeout is the kernel's: looked at only after a datagram
 * came (each receive waits as long as it takes, the man page's BUGS),
 * and what is left of it written back when some came. Each real call
 * gets what is left (0 once it ran out), so the kernel makes that look
 * after each datagram it takes: a wait that outlasted it ends with the
 * one datagram that ended the wait, as natively. */
struct mm {
	struct evs_fd *f;
	struct mmsghdr *v;
	unsigned n, done;
	int flags;
	int out;
	int nonblock;
	int64_t end;  /* recvmmsg's timeout: CLOCK_MONOTONIC ns, 0 none */
};

static struct timespec left_of(int64_t end)
{
	int64_t ns = end - evs_now_ns();
	if (ns < 0)
		ns = 0;
	return (struct timespec){ .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };
}

static long try_mm(int fd, void *arg, struct evs_try *st)
{
	struct mm *m = arg;
	struct timespec left;
	if (m->end)
		left = left_of(m->end);
	long r = evs_sys6(m->out ? SYS_sendmmsg : SYS_recvmmsg, fd, m->v + m->done,
			  m->n - m->done, m->flags | MSG_DONTWAIT, m->end ? (long)&left : 0, 0);
	if (r < 0) {
		if (!m->done || r == -EAGAIN)
			return r;
		/* after some: the count now; recvmmsg's error is the next
		 * call's, as the kernel keeps it (sendmmsg's is lost) */
		if (!m->out)
			__atomic_store_n(&m->f->pending_err, (int)-r, __ATOMIC_RELEASE);
		return m->done;
	}
	m->done += (unsigned)r;
	if (m->done == m->n || m->nonblock || (!m->out && (m->flags & MSG_WAITFORONE)))
		return m->done;
	if (m->end && !left.tv_sec && !left.tv_nsec)
		return m->done;  /* ran out: the kernel stopped at its look */
	return -EAGAIN;  /* wait for the rest */
}

long evs_mmsg(struct evs_fd *f, int fd, struct mmsghdr *v, unsigned n, int flags, int out,
	      struct timespec *tmo)
{
	long r = kept_error(f);
	if (r)
		return r;
	int nb = f->nonblock || (flags & (MSG_DONTWAIT | (out ? 0 : MSG_ERRQUEUE | MSG_OOB))),
	    dir = out ? EVS_OUT : EVS_IN;
	struct mm m = { f, v, n, 0, flags & ~MSG_DONTWAIT, out, nb, 0 };
	if (tmo) {
		if (tmo->tv_sec < 0 || (unsigned long)tmo->tv_nsec >= 1000000000UL)
			return -EINVAL;
		m.end = evs_now_ns() + (int64_t)tmo->tv_sec * 1000000000 + tmo->tv_nsec;
	}
	r = evs_fd_io(f, fd, dir, try_mm, NULL, &m, nb, evs_fd_deadline(f, dir));
	if (r < 0 && m.done)
		r = m.done;  /* timed out after some messages */
	if (tmo && r > 0)
		*tmo = left_of(m.end);
	return r == -ETIME ? -EAGAIN : r;
}
