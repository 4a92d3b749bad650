/* Socket calls: creation, accept, connect, the MSG_* entry points and the
 * options the runtime must know (SO_RCVTIMEO, SO_SNDTIMEO). The work is
 * the runtime's (rt/xfer.c, rt/net.c); these translate. */
#include "fdio.h"
#include <sys/socket.h>
#include <netinet/in.h>

#define SOCK_TYPE_MASK 0xf

static void new_socket(int fd, int type)
{
	evs_fd_reset(fd, EVS_FD_SOCKET, !!(type & SOCK_NONBLOCK),
		      (type & SOCK_TYPE_MASK) == SOCK_STREAM);
}

EVS_HOOK int socket(int domain, int type, int proto)
{
	int fd = REAL(socket)(domain, type, proto);
	if (fd >= 0) {
		new_socket(fd, type);
		struct evs_fd *f;
		if ((domain == AF_INET || domain == AF_INET6) &&
		    (type & SOCK_TYPE_MASK) == SOCK_STREAM && (proto == 0 || proto == IPPROTO_TCP) &&
		    (f = evs_fd_get(fd)))
			f->tcp = 1;
		if (domain == AF_UNIX && (type & SOCK_TYPE_MASK) == SOCK_STREAM && (f = evs_fd_get(fd)))
			f->unix_stream = 1;
	}
	return fd;
}

EVS_HOOK int socketpair(int domain, int type, int proto, int sv[2])
{
	int r = REAL(socketpair)(domain, type, proto, sv);
	if (r == 0) {
		new_socket(sv[0], type);
		new_socket(sv[1], type);
		struct evs_fd *f;
		for (int i = 0; i < 2; i++)
			if (domain == AF_UNIX && (type & SOCK_TYPE_MASK) == SOCK_STREAM &&
			    (f = evs_fd_get(sv[i])))
				f->unix_stream = 1;
		evs_fd_pair(sv[0], sv[1]);
	}
	return r;
}

static int do_accept(int fd, struct sockaddr *addr, socklen_t *len, int flags, int four)
{
	struct evs_fd *f = evs_hook_fd(fd);
	long r = f ? evs_accept(f, fd, addr, len, flags) : EVS_USE_REAL;
	if (r != EVS_USE_REAL)
		return (int)evs_ret(r);
	evs_fallback_fd(fd);
	int n = four ? REAL(accept4)(fd, addr, len, flags) : REAL(accept)(fd, addr, len);
	if (n >= 0)
		new_socket(n, SOCK_STREAM | (flags & SOCK_NONBLOCK));
	return n;
}

EVS_HOOK int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	return do_accept(fd, addr, len, 0, 0);
}

EVS_HOOK int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	return do_accept(fd, addr, len, flags, 1);
}

EVS_HOOK int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct evs_fd *f = evs_hook_fd(fd);
	long r = f ? evs_connect(f, fd, sa, len) : EVS_USE_REAL;
	if (r != EVS_USE_REAL)
		return (int)evs_ret(r);
	return REAL(connect)(fd, sa, len);
}

/* --- the MSG_* calls -------------------------------------------------- */

/* One msghdr transfer through the runtime; EVS_USE_REAL when it is not
 * the runtime's (the caller then makes its own real call). plain:
 * recvfrom/sendto, which carry nothing back but the name (without one,
 * the runtime may use the cheaper recvfrom/sendto system calls). */
static long msg_xfer(int fd, struct msghdr *m, int flags, int out, bool plain)
{
	struct evs_fd *f = evs_hook_fd(fd);
	if (!f || f->kind != EVS_FD_SOCKET || m->msg_iovlen > IOV_MAX)
		return EVS_USE_REAL;
	struct iovec sb[EVS_IOV_STACK], *v = evs_iov_copy(m->msg_iov, (int)m->msg_iovlen, sb);
	if (!v)
		return EVS_USE_REAL;
	struct evs_xfer x = { .f = f, .iov = v, .cnt = (int)m->msg_iovlen,
			      .flags = flags & ~MSG_DONTWAIT,
			      .msg = plain && !m->msg_name ? NULL : m,
			      .all = out || (flags & MSG_WAITALL),
			      .nonblock = !!(flags & MSG_DONTWAIT) };
	long r = out ? evs_xfer_out(fd, &x) : evs_xfer_in(fd, &x);
	evs_iov_free(v, sb);
	return r;
}

EVS_HOOK ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
			  struct sockaddr *sa, socklen_t *alen)
{
	struct iovec one = { buf, n };
	struct msghdr m = { .msg_name = sa, .msg_namelen = alen ? *alen : 0,
			    .msg_iov = &one, .msg_iovlen = 1 };
	long r = msg_xfer(fd, &m, flags, 0, true);
	if (r == EVS_USE_REAL) {
		evs_fallback_fd(fd);
		return REAL(recvfrom)(fd, buf, n, flags, sa, alen);
	}
	if (r >= 0 && sa && alen)
		*alen = m.msg_namelen;
	return evs_ret(r);
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
	long r = msg_xfer(fd, m, flags, 0, false);
	if (r == EVS_USE_REAL) {
		evs_fallback_fd(fd);
		return REAL(recvmsg)(fd, m, flags);
	}
	return evs_ret(r);
}

EVS_HOOK ssize_t sendto(int fd, const void *buf, size_t n, int flags,
			const struct sockaddr *sa, socklen_t slen)
{
	struct iovec one = { (void *)buf, n };
	struct msghdr m = { .msg_name = (void *)sa, .msg_namelen = slen,
			    .msg_iov = &one, .msg_iovlen = 1 };
	long r = msg_xfer(fd, &m, flags, 1, true);
	if (r == EVS_USE_REAL) {
		evs_fallback_fd(fd);
		return REAL(sendto)(fd, buf, n, flags, sa, slen);
	}
	return evs_ret(r);
}

EVS_HOOK ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	return sendto(fd, buf, n, flags, NULL, 0);
}

EVS_HOOK ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	struct msghdr copy = *m;  /* the runtime may write msg_flags; the caller's is const */
	long r = msg_xfer(fd, &copy, flags, 1, false);
	if (r == EVS_USE_REAL) {
		evs_fallback_fd(fd);
		return REAL(sendmsg)(fd, m, flags);
	}
	return evs_ret(r);
}

static int mmsg(int fd, struct mmsghdr *v, unsigned n, int flags, int out, struct timespec *tmo)
{
	struct evs_fd *f = evs_hook_fd(fd);
	if (!f || f->kind != EVS_FD_SOCKET)
		return (int)EVS_USE_REAL;
	return (int)evs_ret(evs_mmsg(f, fd, v, n, flags, out, tmo));
}

EVS_HOOK int recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *tmo)
{
	int r = mmsg(fd, v, n, flags, 0, tmo);
	if (r != EVS_USE_REAL)
		return r;
	evs_fallback_fd(fd);
	return REAL(recvmmsg)(fd, v, n, flags, tmo);
}

EVS_HOOK int sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
	int r = mmsg(fd, v, n, flags, 1, NULL);
	if (r != EVS_USE_REAL)
		return r;
	evs_fallback_fd(fd);
	return REAL(sendmmsg)(fd, v, n, flags);
}

/* --- options ---------------------------------------------------------- */

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
