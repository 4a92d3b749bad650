/* The positional and flagged file reads and writes (pread, pwrite, the
 * preadv/pwritev families and their _chk and 64 forms). Plain read and
 * write are in fdio.c; the work is rt/filerw.c's. */
#include "fdio.h"
#include <fcntl.h>

/* The fd's record when the runtime serves this regular-file call. */
static struct evs_fd *file_fd(int fd)
{
	struct evs_fd *f = evs_hook_fd(fd);
	return f && f->kind == EVS_FD_FILE ? f : NULL;
}

static ssize_t p1(int fd, void *buf, size_t n, off_t off, int out)
{
	struct evs_fd *f = file_fd(fd);
	if (!f || off < 0) {  /* a negative offset: the kernel's EINVAL */
		evs_fallback_fd(fd);
		return out ? REAL(pwrite)(fd, buf, n, off) : REAL(pread)(fd, buf, n, off);
	}
	struct iovec one = { buf, n };
	return evs_ret(evs_file_rw(f, fd, &one, 1, off, 0, out));
}

EVS_HOOK ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	return p1(fd, buf, n, off, 0);
}

EVS_HOOK ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	if (n > buflen)  /* let glibc report the overflow */
		return REAL(__pread_chk)(fd, buf, n, off, buflen);
	return p1(fd, buf, n, off, 0);
}

EVS_HOOK ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	if (n > buflen)
		return REAL(__pread64_chk)(fd, buf, n, off, buflen);
	return p1(fd, buf, n, off, 0);
}

EVS_HOOK ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return p1(fd, (void *)buf, n, off, 1);
}

/* preadv/pwritev (off >= 0) and preadv2/pwritev2 (off -1: at the file
 * position). Flags the program passes go along; a program asking for
 * RWF_NOWAIT itself gets exactly that, from the real call. */
static ssize_t pv(int fd, const struct iovec *iov, int cnt, off_t off, int flags, int out, int two)
{
	struct evs_fd *f = file_fd(fd);
	if (!f || cnt <= 0 || cnt > IOV_MAX || off < -1 || (off == -1 && !two) ||
	    (flags & RWF_NOWAIT)) {
		evs_fallback_fd(fd);
		if (two)
			return out ? REAL(pwritev2)(fd, iov, cnt, off, flags)
				   : REAL(preadv2)(fd, iov, cnt, off, flags);
		return out ? REAL(pwritev)(fd, iov, cnt, off) : REAL(preadv)(fd, iov, cnt, off);
	}
	return evs_ret(evs_file_rw(f, fd, iov, cnt, off, flags, out));
}

EVS_HOOK ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return pv(fd, iov, cnt, off, 0, 0, 0);
}

EVS_HOOK ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return pv(fd, iov, cnt, off, 0, 1, 0);
}

EVS_HOOK ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	return pv(fd, iov, cnt, off, flags, 0, 1);
}

EVS_HOOK ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	return pv(fd, iov, cnt, off, flags, 1, 1);
}

/* sendfile: to a socket the task parks on writability (and has uncached
 * file ranges read ahead first); to a file it runs on the pool. */
EVS_HOOK ssize_t sendfile(int out, int in, off_t *offp, size_t count)
{
	long r = evs_current() ? evs_sendfile(out, in, offp, count) : EVS_USE_REAL;
	if (r != EVS_USE_REAL)
		return evs_ret(r);
	evs_fallback_fd(out);
	return REAL(sendfile)(out, in, offp, count);
}

/* splice and tee: between pipes and sockets the task parks on the side in
 * the way (rt/splice.c); a regular file's side is the disk's (as
 * copy_file_range, on the worker). */
EVS_HOOK ssize_t splice(int in, loff_t *off_in, int out, loff_t *off_out, size_t len,
			unsigned flags)
{
	long r = evs_current() ? evs_splice(in, off_in, out, off_out, len, flags, false)
			       : EVS_USE_REAL;
	if (r != EVS_USE_REAL)
		return evs_ret(r);
	evs_fallback_fd(in);
	return REAL(splice)(in, off_in, out, off_out, len, flags);
}

EVS_HOOK ssize_t tee(int in, int out, size_t len, unsigned flags)
{
	long r = evs_current() ? evs_splice(in, NULL, out, NULL, len, flags, true) : EVS_USE_REAL;
	if (r != EVS_USE_REAL)
		return evs_ret(r);
	evs_fallback_fd(in);
	return REAL(tee)(in, out, len, flags);
}

/* copy_file_range and sync_file_range: on the pool while the task
 * parks (rt/sendfile.c). */
EVS_HOOK ssize_t copy_file_range(int in, loff_t *off_in, int out, loff_t *off_out, size_t len,
				 unsigned flags)
{
	long r = evs_current() ? evs_copy_range(in, off_in, out, off_out, len, flags)
			       : EVS_USE_REAL;
	if (r != EVS_USE_REAL)
		return evs_ret(r);
	if (evs_current())
		evs_fallback_fd(in);
	return REAL(copy_file_range)(in, off_in, out, off_out, len, flags);
}

EVS_HOOK int sync_file_range(int fd, off_t off, off_t n, unsigned flags)
{
	if (!evs_current())
		return REAL(sync_file_range)(fd, off, n, flags);
	return (int)evs_ret(evs_sync_range(fd, off, n, flags));
}

EVS_HOOK_ALIAS(pread64, pread);
EVS_HOOK_ALIAS(pwrite64, pwrite);
EVS_HOOK_ALIAS(preadv64, preadv);
EVS_HOOK_ALIAS(pwritev64, pwritev);
EVS_HOOK_ALIAS(preadv64v2, preadv2);
EVS_HOOK_ALIAS(pwritev64v2, pwritev2);
EVS_HOOK_ALIAS(sendfile64, sendfile);
