/* sendfile from a regular file; file-to-file copies.
 *
 * To a socket: a blocking sendfile returns when `count` bytes went out, at
 * end of file, or on an error. The socket is made non-blocking for each
 * call (sendfile has no per-call flag) and the task parks on writability
 * in between. The file side must not stall the worker either: before each
 * piece (EVS_SF_PIECE bytes) goes out, cachestat(2) tells whether its
 * pages are in the page cache; when some are not, the file backend reads
 * the piece first (into a scratch buffer, thrown away) while the task
 * parks, and sendfile then finds it cached. Without cachestat (kernels
 * before 6.5) every piece is read ahead that way: correct, one copy more.
 *
 * A small piece (up to EVS_SF_COPY bytes) at an explicit offset is copied
 * instead: preadv2 with RWF_NOWAIT into the worker's buffer, then one
 * send with MSG_DONTWAIT. Two system calls where the sendfile way makes
 * five (cachestat, the flags read, set and restored around sendfile): a
 * static file server's request then costs one system call more than
 * natively, not four. The copy costs less than the calls it saves at this
 * size (`make bench`, static section). A piece not in the page cache
 * (EAGAIN), a file without a no-wait read, a file position (offp NULL:
 * the position must move as sendfile moves it, never by an lseek of ours)
 * take the sendfile way.
 *
 * To a regular file (a copy): the whole call runs on the blocking pool, as
 * do copy_file_range and sync_file_range (at the end of this file). */
#include "../evs.h"
#include "fdio.h"
#include "offload.h"
#include "sched.h"
#include "tls.h"
#include "../libc/sys.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif

struct evs_cachestat_range {
	uint64_t off, len;
};

struct evs_cachestat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

#define EVS_SF_PIECE (2u << 20)
#define EVS_SF_COPY (32u << 10)
#define EVS_SF_SCRATCH (256u << 10)
#define EVS_PAGE 4096u

static int no_cachestat;

static uint64_t pages_in(uint64_t off, uint64_t len)
{
	return len ? (off + len + EVS_PAGE - 1) / EVS_PAGE - off / EVS_PAGE : 0;
}

/* Is [pos, pos + len) of the file in the page cache? Past end of file
 * counts as cached (there is nothing to read). */
static bool cached(int fd, uint64_t pos, uint64_t len)
{
	if (__atomic_load_n(&no_cachestat, __ATOMIC_RELAXED))
		return false;
	struct evs_cachestat_range rg = { pos, len };
	struct evs_cachestat cs;
	long r = evs_sys6(SYS_cachestat, fd, &rg, &cs, 0, 0, 0);
	if (r < 0) {
		if (r == -ENOSYS)
			__atomic_store_n(&no_cachestat, 1, __ATOMIC_RELAXED);
		return false;
	}
	if (cs.nr_cache >= pages_in(pos, len))
		return true;
	struct stat st;  /* a range running past end of file looks short */
	if (evs_sys3(SYS_fstat, fd, &st, 0) < 0)
		return false;
	if (pos >= (uint64_t)st.st_size)
		return true;
	if (pos + len > (uint64_t)st.st_size)
		len = (uint64_t)st.st_size - pos;
	return cs.nr_cache >= pages_in(pos, len);
}

/* Bring [pos, pos + len) into the page cache through the file backend. */
static void read_ahead(struct evs_fd *f, int fd, uint64_t pos, uint64_t len)
{
	void *scratch = NULL;  /* aligned: the file may be O_DIRECT */
	if (posix_memalign(&scratch, EVS_PAGE, EVS_SF_SCRATCH))
		return;
	struct iovec v[EVS_SF_PIECE / EVS_SF_SCRATCH];
	int n = 0;
	for (uint64_t at = 0; at < len && n < (int)(sizeof(v) / sizeof(v[0])); n++) {
		v[n].iov_base = scratch;  /* one buffer, read over and over */
		v[n].iov_len = len - at < EVS_SF_SCRATCH ? len - at : EVS_SF_SCRATCH;
		at += v[n].iov_len;
	}
	evs_stat_add(EVS_ST_sendfile_ahead, 1);
	(void)evs_file_rw(f, fd, v, n, (off_t)pos, 0, 0);
	free(scratch);
}

/* Make sure the next piece is cached; `ahead` is the end of what this
 * call already checked, so after a partial send only the part of the
 * piece beyond it is checked (socket buffers fill many times per file). */
static void file_side(struct evs_fd *fi, int in, off_t *offp, size_t piece, uint64_t *ahead)
{
	long pos = offp ? *offp : evs_sys3(SYS_lseek, in, 0, SEEK_CUR);
	if (pos < 0)
		return;
	uint64_t from = (uint64_t)pos > *ahead ? (uint64_t)pos : *ahead, end = (uint64_t)pos + piece;
	if (from >= end)
		return;
	if (!cached(in, from, end - from))
		read_ahead(fi, in, from, end - from);
	*ahead = end;
}

struct sf_job {
	int out, in;
	off_t *offp;
	size_t count;
};

static long job_sendfile(void *arg)
{
	struct sf_job *j = arg;
	return evs_sys6(SYS_sendfile, j->out, j->in, j->offp, j->count, 0, 0);
}

/* One sendfile to a socket, as the wait loop's try: pieces go out until
 * all is sent (the count), end of file (the count so far), an error
 * (likewise, or the error when nothing went) or a full socket (EAGAIN:
 * wait for room, call again). */
struct sf {
	int in;
	off_t *offp;
	size_t count, done;
	long fl;                 /* the socket's flags, restored after each call
				  * (-1: not read yet) */
	struct evs_fd *fi;       /* the file's record, NULL when not a regular file */
	uint64_t ahead;          /* end of what this call checked was cached */
	bool copy;               /* pieces may be copied (copied()) */
};

/* A small piece by copy; false when it must take the sendfile way (then
 * for the rest of the call). *res: bytes sent, 0 at end of file, or the
 * send's -errno (-EAGAIN: the socket is full). */
static bool copied(int out, struct sf *s, size_t piece, long *res)
{
	struct evs_worker *w = evs_self;
	if (!s->copy || piece > EVS_SF_COPY || *s->offp < 0)
		return false;
	if (!w->copy_buf && posix_memalign(&w->copy_buf, EVS_PAGE, EVS_SF_COPY)) {
		w->copy_buf = NULL;
		s->copy = false;
		return false;
	}
	struct iovec v = { w->copy_buf, piece };
	long got = evs_sys6(SYS_preadv2, s->in, &v, 1, *s->offp, 0, RWF_NOWAIT);
	if (got < 0) {  /* not cached, or no no-wait read here */
		s->copy = false;
		return false;
	}
	long r = 0;  /* end of file */
	if (got) {
		r = evs_sys6(SYS_sendto, out, w->copy_buf, got, MSG_DONTWAIT, 0, 0);
		w->st[EVS_ST_sendfile_copies]++;
	}
	if (r > 0)
		*s->offp += r;
	*res = r;
	return true;
}

static long try_sendfile(int out, void *arg, struct evs_try *st)
{
	struct sf *s = arg;
	for (;;) {
		size_t piece = s->count - s->done;
		long r;
		if (!copied(out, s, piece, &r)) {
			if (s->fi) {
				if (piece > EVS_SF_PIECE)
					piece = EVS_SF_PIECE;
				file_side(s->fi, s->in, s->offp, piece, &s->ahead);
			}
			if (s->fl < 0)
				s->fl = evs_sys_fcntl(out, F_GETFL, 0);
			bool toggle = s->fl >= 0 && !(s->fl & O_NONBLOCK);
			if (toggle)
				evs_sys_fcntl(out, F_SETFL, s->fl | O_NONBLOCK);
			r = evs_sys6(SYS_sendfile, out, s->in, s->offp, piece, 0, 0);
			if (toggle)
				evs_sys_fcntl(out, F_SETFL, s->fl);
		}
		if (r > 0) {
			s->done += (size_t)r;
			if (s->done == s->count)
				return (long)s->done;
			continue;  /* a partial send: try again, EAGAIN waits */
		}
		if (r == 0 || (r < 0 && r != -EAGAIN && s->done))
			return (long)s->done;  /* end of file, or an error after progress */
		return r;
	}
}

long evs_sendfile(int out, int in, off_t *offp, size_t count)
{
	struct evs_fd *f = evs_fd_get(out), *fi = evs_fd_get(in);
	if (!f || !fi)
		return EVS_USE_REAL;
	if (fi->kind != EVS_FD_FILE)
		fi = NULL;
	if (f->kind == EVS_FD_FILE && fi && !(offp && evs_tls_overlaps(offp, sizeof(*offp)))) {
		struct sf_job j = { out, in, offp, count };
		return evs_offload(job_sendfile, &j);
	}
	if (f->kind == EVS_FD_SOCKET && f->nonblock)
		/* The program's own non-blocking socket (Ruby's IO.copy_stream):
		 * the call never waits for the socket, and EAGAIN is the
		 * program's to handle. Not a fallback. */
		return evs_sys6(SYS_sendfile, out, in, offp, count, 0, 0);
	if (f->kind != EVS_FD_SOCKET || f->nonblock || f->shim_nonblock)
		return EVS_USE_REAL;
	struct sf s = { .in = in, .offp = offp, .count = count, .fi = fi, .fl = -1,
			.copy = fi && offp && f->stream && !fi->direct };
	if (!s.copy) {
		s.fl = evs_sys_fcntl(out, F_GETFL, 0);
		if (s.fl < 0 || (s.fl & O_NONBLOCK))
			return EVS_USE_REAL;
	}
	long r = evs_fd_io(f, out, EVS_OUT, try_sendfile, NULL, &s, 0, evs_fd_deadline(f, EVS_OUT));
	if (r < 0 && s.done)  /* SO_SNDTIMEO passed, or closed, after progress */
		return (long)s.done;
	return r == -ETIME ? -EAGAIN : r;
}

/* --- copy_file_range, sync_file_range ------------------------------------- */

/* Natively these wait for the disk, and a copy takes as long as its
 * length (a gigabyte copied in the kernel in one call): made on the
 * worker, they held every task of it for that long. They run on the
 * pool, as sendfile to a file does; io_uring has no copy, and a sync of
 * a range is rare enough for one path. */
struct range_job {
	long nr, a[6];
};

static long job_range(void *p)
{
	struct range_job *j = p;
	return evs_sys6(j->nr, j->a[0], j->a[1], j->a[2], j->a[3], j->a[4], j->a[5]);
}

long evs_copy_range(int in, loff_t *off_in, int out, loff_t *off_out, size_t len, unsigned flags)
{
	if ((off_in && evs_tls_overlaps(off_in, sizeof(*off_in))) ||
	    (off_out && evs_tls_overlaps(off_out, sizeof(*off_out))))
		return EVS_USE_REAL;
	struct range_job j = { SYS_copy_file_range,
			       { in, (long)off_in, out, (long)off_out, (long)len, flags } };
	return evs_offload(job_range, &j);
}

long evs_sync_range(int fd, off_t off, off_t n, unsigned flags)
{
	struct range_job j = { SYS_sync_file_range, { fd, off, n, flags, 0, 0 } };
	return evs_offload(job_range, &j);
}
