/* Socket calls. Data moves through hook/xfer.c; this file covers creation,
 * accept, connect, the MSG_* entry points and the options the runtime
 * must know (SO_RCVTIMEO, SO_SNDTIMEO). */
#include "fdio.h"
#include "../obs/log.h"
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define SOCK_TYPE_MASK 0xf

static void new_socket(int fd, int type)
{
	evs_fd_reset(fd, EVS_FD_SOCKET, !!(type & SOCK_NONBLOCK),
		      (type & SOCK_TYPE_MASK) == SOCK_STREAM);
}

EVS_HOOK int socket(int domain, int type, int proto)
{
	int fd = REAL(socket)(domain, type, proto);
	if (fd >= 0)
		new_socket(fd, type);
	return fd;
}

EVS_HOOK int socketpair(int domain, int type, int proto, int sv[2])
{
	int r = REAL(socketpair)(domain, type, proto, sv);
	if (r == 0) {
		new_socket(sv[0], type);
		new_socket(sv[1], type);
	}
	return r;
}

/* --- accept ----------------------------------------------------------- */

struct acc {
	struct sockaddr *addr;
	socklen_t *len;
	int flags;
};

static long try_accept(int fd, void *arg)
{
	struct acc *a = arg;
	return evs_sys6(SYS_accept4, fd, a->addr, a->len, a->flags, 0, 0);
}

/* accept has no per-call non-blocking flag: the shim sets O_NONBLOCK on a
 * listening socket the first time a task accepts on it and hides it from
 * the program (fcntl, ioctl). The accepted socket does not inherit it. */
static int make_acceptable(struct evs_fd *f, int fd)
{
	if (f->nonblock || f->shim_nonblock)
		return 0;
	long fl = evs_sys_fcntl(fd, F_GETFL, 0);
	if (fl < 0)
		return (int)fl;
	if (!(fl & O_NONBLOCK)) {
		long r = evs_sys_fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		if (r < 0)
			return (int)r;
		f->shim_nonblock = 1;
	} else {
		f->nonblock = 1;  /* set behind our back: the program's own */
	}
	return 0;
}

static int do_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags, int four)
{
	struct evs_fd *f = evs_hook_fd(fd);
	if (!f || f->kind != EVS_FD_SOCKET || make_acceptable(f, fd) < 0) {
		if (evs_current())
			EVS_FALLBACK();
		int r = four ? REAL(accept4)(fd, addr, len, flags) : REAL(accept)(fd, addr, len);
		if (r >= 0)
			new_socket(r, SOCK_STREAM | (flags & SOCK_NONBLOCK));
		return r;
	}
	struct acc a = { addr, len, flags };
	long r = evs_fd_io(f, fd, EVS_IN, try_accept, &a, f->nonblock, evs_fd_deadline(f, EVS_IN));
	if (r >= 0) {
		new_socket((int)r, SOCK_STREAM | (flags & SOCK_NONBLOCK));
		struct evs_fd *n = evs_fd_get((int)r);
		if (n) {  /* Linux copies the listener's timeouts to the child */
			n->timeo[0] = f->timeo[0];
			n->timeo[1] = f->timeo[1];
		}
	}
	return (int)evs_ret(r);
}

EVS_HOOK int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	return do_accept(fd, addr, len, 0, 0);
}

EVS_HOOK int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	return do_accept(fd, addr, len, flags, 1);
}

/* --- connect ---------------------------------------------------------- */

/* A blocking connect: made non-blocking for the one call, then the task
 * waits for writability and reads SO_ERROR, as the kernel would report
 * it. SO_SNDTIMEO bounds the wait (EINPROGRESS on timeout, as Linux). */
EVS_HOOK int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct evs_fd *f = evs_hook_fd(fd);
	if (!f || f->kind != EVS_FD_SOCKET || f->nonblock || f->shim_nonblock)
		return REAL(connect)(fd, sa, len);
	long fl = evs_sys_fcntl(fd, F_GETFL, 0);
	if (fl < 0 || (fl & O_NONBLOCK))
		return REAL(connect)(fd, sa, len);
	int64_t deadline = evs_fd_deadline(f, EVS_OUT);
	for (;;) {
		uint32_t seq = __atomic_load_n(&f->seq[EVS_OUT], __ATOMIC_ACQUIRE);
		evs_sys_fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		long r = evs_sys3(SYS_connect, fd, sa, len);
		evs_sys_fcntl(fd, F_SETFL, fl);
		if (r == -EAGAIN) {  /* AF_UNIX backlog full: wait, try again */
			r = evs_fd_wait(f, fd, EVS_OUT, seq, deadline);
			if (r == -EOPNOTSUPP)
				r = evs_fd_block(fd, EVS_OUT, deadline);
			if (r == 0)
				continue;
			if (r == -ETIME)
				r = -EAGAIN;
			return (int)evs_ret(r);
		}
		if (r != -EINPROGRESS)
			return (int)evs_ret(r);
		for (;;) {
			r = evs_fd_wait(f, fd, EVS_OUT, seq, deadline);
			if (r == -EOPNOTSUPP)
				r = evs_fd_block(fd, EVS_OUT, deadline);
			if (r == -ETIME)
				return (int)evs_ret(-EINPROGRESS);
			if (r < 0 && r != -ECANCELED)
				return (int)evs_ret(r);
			int err = 0;
			socklen_t el = sizeof(err);
			long g = evs_sys6(SYS_getsockopt, fd, SOL_SOCKET, SO_ERROR, &err, &el, 0);
			if (g < 0)
				return (int)evs_ret(g);
			if (err)
				return (int)evs_ret(-err);
			/* No error: connected, or still in progress after a
			 * wake for another reason. getpeername fails with
			 * ENOTCONN until the handshake is done. */
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			if (evs_sys3(SYS_getpeername, fd, &ss, &sl) == 0)
				return 0;
			seq = __atomic_load_n(&f->seq[EVS_OUT], __ATOMIC_ACQUIRE);
			if (r == -ECANCELED)
				evs_task_testcancel();
		}
	}
}

/* --- the MSG_* calls -------------------------------------------------- */

static ssize_t in_msg(int fd, struct msghdr *m, int flags, int (*fallback)(void *), void *fa)
{
	struct evs_fd *f = evs_hook_fd(fd);
	if (f && f->kind == EVS_FD_SOCKET && m->msg_iovlen <= IOV_MAX) {
		struct iovec sb[EVS_IOV_STACK], *v = evs_iov_copy(m->msg_iov, (int)m->msg_iovlen, sb);
		if (v) {
			struct evs_xfer x = { .f = f, .iov = v, .cnt = (int)m->msg_iovlen,
					      .flags = flags & ~MSG_DONTWAIT, .msg = m,
					      .all = !!(flags & MSG_WAITALL) };
			x.nonblock = !!(flags & MSG_DONTWAIT);
			long r = evs_xfer_in(fd, &x);
			evs_iov_free(v, sb);
			if (r != EVS_USE_REAL)
				return evs_ret(r);
		}
	}
	evs_fallback_fd(fd);
	return fallback(fa);
}

static ssize_t out_msg(int fd, const struct msghdr *m, int flags, int (*fallback)(void *), void *fa)
{
	struct evs_fd *f = evs_hook_fd(fd);
	if (f && f->kind == EVS_FD_SOCKET && m->msg_iovlen <= IOV_MAX) {
		struct iovec sb[EVS_IOV_STACK], *v = evs_iov_copy(m->msg_iov, (int)m->msg_iovlen, sb);
		if (v) {
			struct msghdr copy = *m;
			struct evs_xfer x = { .f = f, .iov = v, .cnt = (int)m->msg_iovlen,
					      .flags = flags & ~MSG_DONTWAIT, .msg = &copy,
					      .all = 1 };
			x.nonblock = !!(flags & MSG_DONTWAIT);
			long r = evs_xfer_out(fd, &x);
			evs_iov_free(v, sb);
			if (r != EVS_USE_REAL)
				return evs_ret(r);
		}
	}
	evs_fallback_fd(fd);
	return fallback(fa);
}

struct real_args {
	int fd;
	void *buf;
	size_t n;
	int flags;
	struct sockaddr *sa;
	socklen_t *alen;
	socklen_t slen;
	struct msghdr *m;
};

static int real_recvfrom(void *p)
{
	struct real_args *a = p;
	return (int)REAL(recvfrom)(a->fd, a->buf, a->n, a->flags, a->sa, a->alen);
}

static int real_sendto(void *p)
{
	struct real_args *a = p;
	return (int)REAL(sendto)(a->fd, a->buf, a->n, a->flags, a->sa, a->slen);
}

static int real_recvmsg(void *p)
{
	struct real_args *a = p;
	return (int)REAL(recvmsg)(a->fd, a->m, a->flags);
}

static int real_sendmsg(void *p)
{
	struct real_args *a = p;
	return (int)REAL(sendmsg)(a->fd, a->m, a->flags);
}

EVS_HOOK ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
			  struct sockaddr *sa, socklen_t *alen)
{
	struct iovec one = { buf, n };
	struct msghdr m = { .msg_name = sa, .msg_namelen = alen ? *alen : 0,
			    .msg_iov = &one, .msg_iovlen = 1 };
	struct real_args a = { fd, buf, n, flags, sa, alen, 0, NULL };
	ssize_t r = in_msg(fd, &m, flags, real_recvfrom, &a);
	if (r >= 0 && sa && alen && evs_hook_fd(fd))
		*alen = m.msg_namelen;
	return r;
}

EVS_HOOK ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	return recvfrom(fd, buf, n, flags, NULL, NULL);
}

EVS_HOOK ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (n > buflen)
		return REAL(__recv_chk)(fd, buf, n, buflen, flags);
	return recvfrom(fd, buf, n, flags, NULL, NULL);
}

EVS_HOOK ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
				struct sockaddr *sa, socklen_t *alen)
{
	if (n > buflen)
		return REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, sa, alen);
	return recvfrom(fd, buf, n, flags, sa, alen);
}

EVS_HOOK ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	struct real_args a = { .fd = fd, .flags = flags, .m = m };
	return in_msg(fd, m, flags, real_recvmsg, &a);
}

EVS_HOOK ssize_t sendto(int fd, const void *buf, size_t n, int flags,
			const struct sockaddr *sa, socklen_t slen)
{
	struct iovec one = { (void *)buf, n };
	struct msghdr m = { .msg_name = (void *)sa, .msg_namelen = slen,
			    .msg_iov = &one, .msg_iovlen = 1 };
	struct real_args a = { fd, (void *)buf, n, flags, (struct sockaddr *)sa, NULL, slen, NULL };
	return out_msg(fd, &m, flags, real_sendto, &a);
}

EVS_HOOK ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	return sendto(fd, buf, n, flags, NULL, 0);
}

EVS_HOOK ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	struct real_args a = { .fd = fd, .flags = flags, .m = (struct msghdr *)m };
	return out_msg(fd, m, flags, real_sendmsg, &a);
}

/* recvmmsg/sendmmsg, blocking form: keep going until all vlen messages
 * moved (MSG_WAITFORONE: until the first), as the kernel does; an error or
 * a timeout after some messages returns the count so far. */
struct mm {
	struct mmsghdr *v;
	unsigned n, done;
	int flags;
	int out;
	int nonblock;
};

static long try_mm(int fd, void *arg)
{
	struct mm *m = arg;
	long r = evs_sys6(m->out ? SYS_sendmmsg : SYS_recvmmsg, fd, m->v + m->done,
			  m->n - m->done, m->flags | MSG_DONTWAIT, 0, 0);
	if (r < 0)
		return (m->done && r != -EAGAIN) ? (long)m->done : r;
	m->done += (unsigned)r;
	if (m->done == m->n || m->nonblock || (!m->out && (m->flags & MSG_WAITFORONE)))
		return m->done;
	return -EAGAIN;  /* wait for the rest */
}

static int mmsg(int fd, struct mmsghdr *v, unsigned n, int flags, int out)
{
	struct evs_fd *f = evs_hook_fd(fd);
	int nb = f->nonblock || (flags & MSG_DONTWAIT), dir = out ? EVS_OUT : EVS_IN;
	struct mm m = { v, n, 0, flags & ~MSG_DONTWAIT, out, nb };
	long r = evs_fd_io(f, fd, dir, try_mm, &m, nb, evs_fd_deadline(f, dir));
	if (r < 0 && m.done)
		r = m.done;  /* timed out after some messages */
	return (int)evs_ret(r);
}

EVS_HOOK int recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *tmo)
{
	struct evs_fd *f = evs_hook_fd(fd);
	if (!f || f->kind != EVS_FD_SOCKET || tmo) {
		evs_fallback_fd(fd);
		return REAL(recvmmsg)(fd, v, n, flags, tmo);
	}
	return mmsg(fd, v, n, flags, 0);
}

EVS_HOOK int sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
	struct evs_fd *f = evs_hook_fd(fd);
	if (!f || f->kind != EVS_FD_SOCKET) {
		evs_fallback_fd(fd);
		return REAL(sendmmsg)(fd, v, n, flags);
	}
	return mmsg(fd, v, n, flags, 1);
}

/* --- options --------------------------------------------- */

EVS_HOOK int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	int r = REAL(setsockopt)(fd, level, name, val, len);
	if (r == 0 && level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO) &&
	    val && len >= sizeof(struct timeval)) {
		struct evs_fd *f = evs_fd_get(fd);
		const struct timeval *tv = val;
		if (f)
			f->timeo[name == SO_SNDTIMEO] =
				(int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000;
	}
	return r;
}
