/* read/write and friends on any fd, and the fd's lifecycle (pipe, dup,
 * close, fcntl, ioctl). Regular files go through rt/filerw.c, everything
 * else (sockets, pipes, ttys, eventfds...) through rt/xfer.c. */
#include "fdio.h"
#include "../rt/filelock.h"
#include "../rt/safepoint.h"
#include "../io/poller.h"
#include "../libc/sys.h"
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

static ssize_t rw1(int fd, void *buf, size_t n, int out)
{
	struct evs_fd *f = evs_hook_fd(fd);
	if (f && f->kind == EVS_FD_FILE) {
		struct iovec one = { buf, n };
		return evs_ret(evs_file_rw(f, fd, &one, 1, -1, 0, out));
	}
	if (f) {
		struct iovec one = { buf, n };
		struct evs_xfer x = { .f = f, .iov = &one, .cnt = 1, .all = out };
		long r = out ? evs_xfer_out(fd, &x) : evs_xfer_in(fd, &x);
		if (r != EVS_USE_REAL)
			return evs_ret(r);
	}
	evs_fallback_fd(fd);
	return out ? REAL(write)(fd, buf, n) : REAL(read)(fd, buf, n);
}

EVS_HOOK ssize_t read(int fd, void *buf, size_t n)
{
	return rw1(fd, buf, n, 0);
}

EVS_HOOK ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)  /* let glibc report the overflow */
		return REAL(__read_chk)(fd, buf, n, buflen);
	return rw1(fd, buf, n, 0);
}

EVS_HOOK ssize_t write(int fd, const void *buf, size_t n)
{
	return rw1(fd, (void *)buf, n, 1);
}

static ssize_t rwv(int fd, const struct iovec *iov, int cnt, int out)
{
	struct evs_fd *f = evs_hook_fd(fd);
	if (f && f->kind == EVS_FD_FILE) {
		if (cnt > 0 && cnt <= IOV_MAX)
			return evs_ret(evs_file_rw(f, fd, iov, cnt, -1, 0, out));
		f = NULL;
	}
	if (f && cnt > 0 && cnt <= IOV_MAX) {
		struct iovec sb[EVS_IOV_STACK], *v = evs_iov_copy(iov, cnt, sb);
		if (v) {
			struct evs_xfer x = { .f = f, .iov = v, .cnt = cnt, .all = out };
			long r = out ? evs_xfer_out(fd, &x) : evs_xfer_in(fd, &x);
			evs_iov_free(v, sb);
			if (r != EVS_USE_REAL)
				return evs_ret(r);
		}
	}
	evs_fallback_fd(fd);
	return out ? REAL(writev)(fd, iov, cnt) : REAL(readv)(fd, iov, cnt);
}

EVS_HOOK ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	return rwv(fd, iov, cnt, 0);
}

EVS_HOOK ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	return rwv(fd, iov, cnt, 1);
}

/* --- lifecycle -------------------------------------------------------- */

static void new_pipe(int *fds, int flags)
{
	evs_fd_reset(fds[0], EVS_FD_PIPE, !!(flags & O_NONBLOCK), 1);
	evs_fd_reset(fds[1], EVS_FD_PIPE, !!(flags & O_NONBLOCK), 1);
	evs_fd_pair(fds[0], fds[1]);
}

EVS_HOOK int pipe(int fds[2])
{
	int r = REAL(pipe)(fds);
	if (r == 0)
		new_pipe(fds, 0);
	return r;
}

EVS_HOOK int pipe2(int fds[2], int flags)
{
	if (EVS_UNLIKELY(evs_unwinding)) {
		/* libunwind's own pipe (rt/safepoint.h): the runtime's */
		int r = REAL(pipe2)(fds, flags);
		if (r == 0) {
			int a = evs_poller_hide_fd(fds[0]), b = evs_poller_hide_fd(fds[1]);
			if (a >= 0)
				fds[0] = a;
			if (b >= 0)
				fds[1] = b;
		}
		return r;
	}
	int r = REAL(pipe2)(fds, flags);
	if (r == 0)
		new_pipe(fds, flags);
	return r;
}

/* close, and what closes an fd by another name: the runtime's own fd
 * is not open as natively; any other's record goes first. */
static int close_as(int fd, int (*real)(int))
{
	if (evs_fd_internal(fd)) {
		/* The runtime's own fd: natively this number is not open. */
		errno = EBADF;
		return -1;
	}
	evs_fd_closing(fd);
	return real(fd);
}

EVS_HOOK int close(int fd)
{
	return close_as(fd, REAL(close));
}

/* POSIX message queues (rt/mqueue.c). glibc closes a queue with its
 * own close, which the runtime would not see: its record would outlive
 * it (a later fd with that number waited on an epoll registration gone
 * with the queue). */
EVS_HOOK int mq_close(mqd_t q)
{
	return close_as(q, REAL(mq_close));
}

EVS_HOOK ssize_t mq_timedreceive(mqd_t q, char *buf, size_t len, unsigned *prio,
				 const struct timespec *abs)
{
	long r = evs_mq_xfer(q, buf, len, prio, 0, 0, abs);
	if (r == EVS_USE_REAL)
		return REAL(mq_timedreceive)(q, buf, len, prio, abs);
	return evs_ret(r);
}

EVS_HOOK ssize_t mq_receive(mqd_t q, char *buf, size_t len, unsigned *prio)
{
	long r = evs_mq_xfer(q, buf, len, prio, 0, 0, NULL);
	if (r == EVS_USE_REAL)
		return REAL(mq_receive)(q, buf, len, prio);
	return evs_ret(r);
}

EVS_HOOK int mq_timedsend(mqd_t q, const char *buf, size_t len, unsigned prio,
			  const struct timespec *abs)
{
	long r = evs_mq_xfer(q, (char *)buf, len, NULL, prio, 1, abs);
	if (r == EVS_USE_REAL)
		return REAL(mq_timedsend)(q, buf, len, prio, abs);
	return (int)evs_ret(r);
}

EVS_HOOK int mq_send(mqd_t q, const char *buf, size_t len, unsigned prio)
{
	long r = evs_mq_xfer(q, (char *)buf, len, NULL, prio, 1, NULL);
	if (r == EVS_USE_REAL)
		return REAL(mq_send)(q, buf, len, prio);
	return (int)evs_ret(r);
}

/* close_range, closefrom and syscall(SYS_close_range): the range is
 * closed around the runtime's own fds, which stay open as close() leaves
 * them (daemons call closefrom(3) at start-up or in a child; the workers'
 * epoll sets, eventfds and rings, and the report's fd, are in that range).
 * Marking close-on-exec (CLOSE_RANGE_CLOEXEC) closes nothing and the
 * runtime's fds have it already: the kernel's call as it is. Returns 0 or
 * -errno. */
long evs_hook_close_range(unsigned first, unsigned last, int flags)
{
	if (first > last || (flags & CLOSE_RANGE_CLOEXEC))
		return evs_sys3(SYS_close_range, first, last, flags);
	int in[512];
	int n = evs_poller_internal_in(first, last, in, (int)(sizeof(in) / sizeof(in[0])));
	evs_fd_closing_range(first, last);
	uint64_t lo = first;
	for (int i = 0; i <= n && lo <= last; i++) {
		uint64_t hi = i < n ? (uint64_t)in[i] - 1 : last;
		if (lo <= hi) {
			long r = evs_sys3(SYS_close_range, lo, hi, flags);
			if (r < 0)
				return r;
		}
		if (i < n)
			lo = (uint64_t)in[i] + 1;
	}
	return 0;
}

EVS_HOOK int close_range(unsigned int first, unsigned int last, int flags)
{
	return (int)evs_ret(evs_hook_close_range(first, last, flags));
}

/* glibc's closefrom calls close_range inside libc, past this library. */
EVS_HOOK void closefrom(int lowfd)
{
	unsigned first = lowfd < 0 ? 0 : (unsigned)lowfd;
	if (evs_hook_close_range(first, ~0U, 0) != -ENOSYS)
		return;
	/* a kernel without close_range (before 5.9): one at a time */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		rl.rlim_cur = 1024;
	for (rlim_t fd = first; fd < rl.rlim_cur && fd < (1U << 20); fd++)
		close((int)fd);
}

/* newfd now refers to oldfd's open file description: same kind, same
 * O_NONBLOCK (a property of the description), same socket timeouts. */
static void copy_record(int oldfd, int newfd)
{
	struct evs_fd *o = evs_fd_get(oldfd);
	if (!o) {
		evs_fd_reclassify(newfd);
		return;
	}
	evs_fd_reset(newfd, o->kind, o->nonblock, o->stream);
	struct evs_fd *n = evs_fd_get(newfd);
	if (n) {
		n->shim_nonblock = o->shim_nonblock;
		n->tcp = o->tcp;
		n->unix_stream = o->unix_stream;
		n->direct = o->direct;
		n->no_nowait_write = o->no_nowait_write;
		n->pseudo_fs = o->pseudo_fs;
		n->anon = o->anon;
		n->anon_kind = o->anon_kind;
		/* the flag is the description's: either fd may change it */
		n->dup_shared = 1;
		o->dup_shared = 1;
		n->always_ready = o->always_ready;
		n->timeo[0] = o->timeo[0];
		n->timeo[1] = o->timeo[1];
	}
}

EVS_HOOK int dup(int fd)
{
	int r = REAL(dup)(fd);
	if (r >= 0)
		copy_record(fd, r);
	return r;
}

static int dup_onto(int oldfd, int newfd, int flags, int three)
{
	if (evs_fd_internal(newfd) || evs_fd_internal(oldfd)) {
		errno = EBADF;
		return -1;
	}
	if (oldfd != newfd)
		evs_fd_closing(newfd);  /* dup2 closes newfd first */
	int r = three ? REAL(dup3)(oldfd, newfd, flags) : REAL(dup2)(oldfd, newfd);
	if (r >= 0 && oldfd != newfd)
		copy_record(oldfd, r);
	return r;
}

EVS_HOOK int dup2(int oldfd, int newfd)
{
	return dup_onto(oldfd, newfd, 0, 0);
}

EVS_HOOK int dup3(int oldfd, int newfd, int flags)
{
	return dup_onto(oldfd, newfd, flags, 1);
}

/* F_GETFL / F_SETFL report and set the program's view of O_NONBLOCK; where
 * the shim itself keeps O_NONBLOCK on (listening sockets it accepts on),
 * the program never sees it. */
static int do_fcntl(int fd, int cmd, long arg)
{
	struct evs_fd *f;
	int r;
	switch (cmd) {
	case F_GETFL:
		r = REAL(fcntl)(fd, cmd);
		if (r >= 0 && (r & O_NONBLOCK) && (f = evs_fd_get(fd)) && !f->nonblock &&
		    (f->shim_nonblock || evs_fd_shims_listener(f, fd)))
			r &= ~O_NONBLOCK;
		return r;
	case F_SETFL:
		f = evs_fd_get(fd);
		if (f && f->shim_nonblock)
			r = REAL(fcntl)(fd, cmd, arg | O_NONBLOCK);
		else
			r = REAL(fcntl)(fd, cmd, arg);
		if (r == 0 && f) {
			f->nonblock = !!(arg & O_NONBLOCK);
			f->direct = !!(arg & O_DIRECT);
		}
		return r;
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		r = REAL(fcntl)(fd, cmd, arg);
		if (r >= 0)
			copy_record(fd, r);
		return r;
	case F_SETLKW:
	case F_OFD_SETLKW:
		if (!evs_current())
			return REAL(fcntl)(fd, cmd, arg);
		for (;;) {
			long r = evs_setlkw(fd, cmd, (void *)arg);
			if (r != -ECANCELED)
				return (int)evs_ret(r);
			evs_task_testcancel();  /* a cancellation point */
		}
	default:
		return REAL(fcntl)(fd, cmd, arg);
	}
}

EVS_HOOK int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}

EVS_HOOK_ALIAS(fcntl64, fcntl);

EVS_HOOK int flock(int fd, int op)
{
	if (!evs_current())
		return REAL(flock)(fd, op);
	return (int)evs_ret(evs_flock(fd, op));
}

/* glibc's lockf makes its fcntl(F_SETLKW) inside libc, past the hook
 * above: F_LOCK waited in the kernel, unseen, and a signal noted meanwhile
 * was never handled there (stress-ng --lockf hung: its SIGALRM never ended
 * the wait; tests/progs/lockf_signal.c). F_LOCK is glibc's lock request,
 * made here through fcntl's hook; the other commands never wait. */
EVS_HOOK int lockf(int fd, int cmd, off_t len)
{
	if (cmd != F_LOCK || !evs_current())
		return REAL(lockf)(fd, cmd, len);
	struct flock fl;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_CUR;
	fl.l_start = 0;
	fl.l_len = len;
	return do_fcntl(fd, F_SETLKW, (long)&fl);
}

EVS_HOOK_ALIAS(lockf64, lockf);

EVS_HOOK int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (req == FIONBIO && arg) {
		struct evs_fd *f = evs_fd_get(fd);
		int on = *(int *)arg != 0;
		if (f && f->shim_nonblock && !on) {
			/* The shim keeps it non-blocking underneath; the program
			 * sees blocking semantics. Check the fd is valid. */
			if (REAL(fcntl)(fd, F_GETFL) < 0)
				return -1;
			f->nonblock = 0;
			return 0;
		}
		int r = REAL(ioctl)(fd, req, arg);
		if (r == 0 && f)
			f->nonblock = (uint8_t)on;
		return r;
	}
	return REAL(ioctl)(fd, req, arg);
}
