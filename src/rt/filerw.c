/* Regular-file reads and writes from a task.
 *
 * Fast path: preadv2/pwritev2 with RWF_NOWAIT, one system call, as the
 * plain call would be, served from the page cache. Slow path, when the
 * data is not cached (EAGAIN) or the filesystem has no no-wait form
 * (EOPNOTSUPP: ext4's buffered writes): the file backend (rt/fileio.h)
 * does the call while the task parks, so the worker never waits for the
 * disk. Files opened with O_DIRECT skip the fast path (a direct read with
 * RWF_NOWAIT still waits for the device) and go to the backend at once:
 * io_uring, Linux AIO (the only files AIO serves) or the pool. Files of
 * the kernel's pseudo filesystems (/proc, /sys, cgroup...) refuse
 * RWF_NOWAIT too, but have no disk to wait for: once the first refusal
 * showed what they are, they get the plain call on the worker.
 *
 * Buffered writes where the filesystem has no no-wait form (ext4): a
 * write into the page cache takes a few microseconds, a backend round
 * trip costs more than that, and the write waits for the disk only when
 * the kernel throttles dirty pages or a journal is busy. So they are made
 * on the worker, timed; one that took EVS_WRITE_SLOW_NS or more sends the
 * fd's writes to the backend for the next EVS_WRITE_BACKEND_NS (counted
 * as write_slow). A write that waits stalls its worker once, and the
 * monitor's spare workers cover that stall (docs/differences.md).
 *
 * The file offset moves exactly as without the shim: calls at the file
 * position use the position-moving forms all the way (readv/writev,
 * preadv2 at offset -1, io_uring at offset -1), never an lseek of ours.
 * A program sees a short read only at end of file and a short write only
 * when the rest fails (ENOSPC, EFBIG), as natively: a short fast-path
 * transfer is finished through the backend. */
#include "../evs.h"
#include "report.h"
#include "fdio.h"
#include "fileio.h"
#include "sched.h"
#include "tls.h"
#include "../libc/sys.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

static size_t iov_total(const struct iovec *iov, int cnt)
{
	size_t n = 0;
	for (int i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

/* Skip the first `skip` bytes of a writable iovec array in place. */
static struct iovec *iov_skip(struct iovec *v, int *cnt, size_t skip)
{
	while (*cnt && skip >= v->iov_len) {
		skip -= v->iov_len;
		v++;
		(*cnt)--;
	}
	if (*cnt) {
		v->iov_base = (char *)v->iov_base + skip;
		v->iov_len -= skip;
	}
	return v;
}

/* Hand a read or write to the backend. The backend (a pool thread, the
 * kernel later on) touches the buffers while other tasks run on this
 * worker: a buffer inside a swapped TLS block (a `static __thread` array)
 * would then be another task's copy. Such transfers go through a bounce
 * buffer (page-aligned, for O_DIRECT); the iovec array itself is a copy
 * on our stack (op.iov), which stays put while we park. */
#define EVS_BOUNCE_MAX (1 << 20)

static long backend_rw(struct evs_fd *f, struct evs_fop *op)
{
	int in_tls = 0;
	for (int i = 0; i < op->cnt && !in_tls; i++)
		in_tls = evs_tls_overlaps(op->iov[i].iov_base, op->iov[i].iov_len);
	if (!in_tls)
		return evs_fileio_run(op, f->direct);
	size_t total = iov_total(op->iov, op->cnt);
	void *bounce = NULL;
	if (total > EVS_BOUNCE_MAX || posix_memalign(&bounce, 4096, total ? total : 1)) {
		evs_fallback("file_rw", "buffer in swapped TLS too big to bounce: on the worker");
		return evs_fileio_now(op);
	}
	const struct iovec *iov = op->iov;
	int cnt = op->cnt;
	if (op->kind == EVS_FOP_WRITE)
		for (size_t i = 0, done = 0; i < (size_t)cnt; done += iov[i].iov_len, i++)
			memcpy((char *)bounce + done, iov[i].iov_base, iov[i].iov_len);
	struct iovec one = { bounce, total };
	struct evs_fop b = *op;
	b.iov = &one;
	b.cnt = 1;
	long r = evs_fileio_run(&b, f->direct);
	if (op->kind == EVS_FOP_READ)
		for (int i = 0, done = 0; i < cnt && done < r; i++) {
			size_t n = iov[i].iov_len < (size_t)(r - done) ? iov[i].iov_len
								   : (size_t)(r - done);
			memcpy(iov[i].iov_base, (char *)bounce + done, n);
			done += (int)n;
		}
	free(bounce);
	return r;
}

/* Finish a transfer through the backend from byte `done` on. Reads stop
 * at the first short answer (end of file); writes go on until every byte
 * is written or an error comes back, as a blocking write would. */
static long slow_rw(struct evs_fd *f, int fd, const struct iovec *iov, int cnt, off_t off,
		    int rwflags, int out, size_t done)
{
	struct iovec sb[EVS_IOV_STACK], *v = evs_iov_copy(iov, cnt, sb);
	if (!v) {
		if (done)
			return (long)done;
		struct evs_fop op = { .kind = out ? EVS_FOP_WRITE : EVS_FOP_READ, .fd = fd, .iov = iov,
				      .cnt = cnt, .off = off, .rwflags = rwflags };
		evs_fallback("file_rw", "no memory for the iovec copy: on the worker");
		return evs_fileio_now(&op);
	}
	size_t total = iov_total(iov, cnt);
	struct iovec *rest = v;
	int left = cnt;
	long res = (long)done;
	for (;;) {
		rest = iov_skip(rest, &left, done);
		if (!left && total)
			break;
		struct evs_fop op = { .kind = out ? EVS_FOP_WRITE : EVS_FOP_READ, .fd = fd,
				      .iov = rest, .cnt = left, .off = off < 0 ? -1 : off + res,
				      .rwflags = rwflags };
		long r = backend_rw(f, &op);
		if (r < 0) {
			if (!res)
				res = r;
			break;
		}
		res += r;
		if (!out || r == 0 || (size_t)res >= total)
			break;
		done = (size_t)r;
	}
	evs_iov_free(v, sb);
	return res;
}

/* A short no-wait read stopped at end of file (nothing to finish) rather
 * than at a page that is not cached? Two cheap calls instead of a
 * backend hand-off for the last read of every file. */
static bool at_eof(int fd, off_t off, long got)
{
	struct stat st;
	if (evs_sys3(SYS_fstat, fd, &st, 0) < 0)
		return false;
	long pos = off >= 0 ? off + got : evs_sys3(SYS_lseek, fd, 0, SEEK_CUR);
	return pos >= 0 && pos >= st.st_size;
}

/* Is fd on one of the kernel's pseudo filesystems, whose files are made
 * up in memory on each read (no disk, no network)? Asked once per fd,
 * after the first RWF_NOWAIT refusal; remembered in f->pseudo_fs. */
static bool pseudo_fs(struct evs_fd *f, int fd)
{
	if (!f->pseudo_fs) {
		struct statfs sf;
		bool yes = evs_sys3(SYS_fstatfs, fd, &sf, 0) == 0 &&
			   evs_fs_in_memory((unsigned long)sf.f_type);
		f->pseudo_fs = yes ? 1 : 2;
	}
	return f->pseudo_fs == 1;
}

/* The plain call on the worker, for files that cannot make it wait. */
static long plain_rw(int fd, const struct iovec *iov, int cnt, off_t off, int rwflags, int out)
{
	struct evs_fop op = { .kind = out ? EVS_FOP_WRITE : EVS_FOP_READ, .fd = fd, .iov = iov,
			      .cnt = cnt, .off = off, .rwflags = rwflags };
	evs_stat_add(EVS_ST_file_fast, 1);
	return evs_fileio_now(&op);
}

/* The time includes the worker's thread being preempted by the kernel
 * (a busy machine: xz -T2 with a third thread writing), which is no wait
 * for the disk: 10 ms is above a time slice, below a dirty-page pause. */
#define EVS_WRITE_SLOW_NS (10 * 1000000LL)
#define EVS_WRITE_BACKEND_NS (1000 * 1000000LL)

/* A buffered write on the worker, unless this fd's writes were lately
 * seen to wait; -EAGAIN: use the backend. */
static long timed_write(struct evs_fd *f, int fd, const struct iovec *iov, int cnt, off_t off,
			int rwflags)
{
	int64_t t0 = evs_now_ns();
	if (t0 < __atomic_load_n(&f->write_slow_until, __ATOMIC_RELAXED))
		return -EAGAIN;
	long r = plain_rw(fd, iov, cnt, off, rwflags, 1);
	int64_t took = evs_now_ns() - t0;
	if (took >= EVS_WRITE_SLOW_NS) {
		__atomic_store_n(&f->write_slow_until, t0 + took + EVS_WRITE_BACKEND_NS,
				 __ATOMIC_RELAXED);
		evs_stat_add(EVS_ST_write_slow, 1);
	}
	return r;
}

long evs_file_rw(struct evs_fd *f, int fd, const struct iovec *iov, int cnt, off_t off,
		 int rwflags, int out)
{
	if (f->pseudo_fs == 1)
		return plain_rw(fd, iov, cnt, off, rwflags, out);
	if (out && f->no_nowait_write && !f->direct) {
		long r = timed_write(f, fd, iov, cnt, off, rwflags);
		if (r != -EAGAIN)
			return r;
	}
	long r = -EAGAIN;
	if (!f->direct && !(out && f->no_nowait_write)) {
		r = evs_sys6(out ? SYS_pwritev2 : SYS_preadv2, fd, iov, cnt, off, 0,
			     rwflags | RWF_NOWAIT);
		if (r >= 0) {
			size_t total = iov_total(iov, cnt);
			if ((size_t)r == total || (!out && r == 0)) {
				evs_stat_add(EVS_ST_file_fast, 1);
				return r;
			}
			/* short: at end of file, or the rest is not cached */
			if (!out && at_eof(fd, off, r)) {
				evs_stat_add(EVS_ST_file_fast, 1);
				return r;
			}
			return slow_rw(f, fd, iov, cnt, off, rwflags, out, (size_t)r);
		}
		if (r == -EOPNOTSUPP && pseudo_fs(f, fd))
			return plain_rw(fd, iov, cnt, off, rwflags, out);
		if (r == -EOPNOTSUPP && out) {
			f->no_nowait_write = 1;  /* this filesystem has none: skip the try */
			long w = timed_write(f, fd, iov, cnt, off, rwflags);
			if (w != -EAGAIN)
				return w;
		}
		else if (r != -EAGAIN && r != -EOPNOTSUPP)
			return r;  /* EBADF, EISDIR, EINVAL, ENOSPC...: the kernel's answer */
	}
	return slow_rw(f, fd, iov, cnt, off, rwflags, out, 0);
}

