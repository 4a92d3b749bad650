/* Moving bytes through a socket or a pipe without blocking the worker.
 *
 * Sockets: recvmsg/sendmsg with MSG_DONTWAIT per call. Pipes and FIFOs:
 * preadv2/pwritev2 with RWF_NOWAIT at the current position (-1). Neither
 * touches the file description's O_NONBLOCK, so a child process, a dup'd
 * fd or stdio sharing the description sees exactly what the program set.
 *
 * Blocking semantics kept: a blocking write returns when everything is
 * written (or on an error after partial progress, with the count, as the
 * kernel does); MSG_WAITALL gathers until full, EOF or error; a program
 * that asked for non-blocking (O_NONBLOCK, MSG_DONTWAIT) gets EAGAIN. */
#include "fdio.h"
#include <fcntl.h>
#include <stdlib.h>

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

static long once(int fd, struct evs_xfer *x, int out)
{
	if (x->f->kind == EVS_FD_PIPE)
		return evs_sys6(out ? SYS_pwritev2 : SYS_preadv2, fd, x->iov, x->cnt,
				-1, 0, RWF_NOWAIT);
	struct msghdr m = { 0 };
	if (x->msg && x->done == 0) {  /* name and control only once */
		m = *x->msg;
		m.msg_flags = 0;
	}
	m.msg_iov = x->iov;
	m.msg_iovlen = (size_t)x->cnt;
	long r = evs_sys3(out ? SYS_sendmsg : SYS_recvmsg, fd, &m,
			  x->flags | MSG_DONTWAIT);
	if (r >= 0 && x->msg && x->done == 0 && !out) {
		x->msg->msg_namelen = m.msg_namelen;
		x->msg->msg_controllen = m.msg_controllen;
		x->msg->msg_flags = m.msg_flags;
	}
	return r;
}

static long try_in(int fd, void *arg)
{
	struct evs_xfer *x = arg;
	long r = once(fd, x, 0);
	if (r < 0)
		return (r == -EAGAIN || !x->done) ? r : (long)x->done;
	if (r == 0 || !x->all)
		return (long)x->done + r;
	advance(x, (size_t)r);
	if (!x->cnt)
		return (long)x->done;
	return x->nonblock ? (long)x->done : -EAGAIN;  /* wait for the rest */
}

static long try_out(int fd, void *arg)
{
	struct evs_xfer *x = arg;
	long r = once(fd, x, 1);
	if (r < 0)
		return (r == -EAGAIN || !x->done) ? r : (long)x->done;
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

/* Not what the record said (a number reused behind our back, a kernel
 * without RWF_NOWAIT for pipes): the caller falls back to the real call. */
static int wrong_kind(int fd, long r)
{
	if (r == -ENOTSOCK || r == -EOPNOTSUPP || r == -ESPIPE) {
		evs_fd_reclassify(fd);
		return 1;
	}
	return 0;
}

ssize_t evs_xfer_in(int fd, struct evs_xfer *x)
{
	x->nonblock |= x->f->nonblock || (x->flags & MSG_DONTWAIT);
	if (x->flags & MSG_PEEK)
		x->all = 0;
	long r = evs_fd_io(x->f, fd, EVS_IN, try_in, x, x->nonblock,
			  evs_fd_deadline(x->f, EVS_IN));
	if (r < 0 && x->done)
		r = (long)x->done;  /* timeout or close after partial data */
	if (wrong_kind(fd, r))
		return EVS_USE_REAL;
	return r;
}

ssize_t evs_xfer_out(int fd, struct evs_xfer *x)
{
	x->nonblock |= x->f->nonblock || (x->flags & MSG_DONTWAIT);
	long r = evs_fd_io(x->f, fd, EVS_OUT, try_out, x, x->nonblock,
			  evs_fd_deadline(x->f, EVS_OUT));
	if (r < 0 && x->done)
		r = (long)x->done;
	if (wrong_kind(fd, r))
		return EVS_USE_REAL;
	return r;
}
