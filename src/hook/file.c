/* Regular files and name resolution: calls epoll cannot wait on.
 *
 * Reads try the page cache first (preadv2 with RWF_NOWAIT: one system
 * call, as a plain read would be) and hand the call to the blocking pool
 * (rt/offload.h) only when the data is not cached, so the worker never
 * waits for the disk. A short fast-path read (part of the range cached)
 * reads the rest through the pool: a program sees a short read only at
 * end of file, as natively. Buffered writes go straight to the kernel.
 * Name lookups always run on the pool: a slow resolver parks one task.
 *
 * sendfile to a socket parks on writability (below).
 *
 * Not yet (the file I/O issue): io_uring and Linux AIO backends, open and
 * fsync off the worker, sendfile's file side off the worker. */
#include "fdio.h"
#include "../rt/offload.h"
#include "../rt/fileio.h"
#include "../rt/tls.h"
#include <fcntl.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

static size_t iov_total(const struct iovec *iov, int cnt)
{
	size_t n = 0;
	for (int i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

/* Hand a read to the file backend (rt/fileio.h). A destination inside a
 * swapped TLS block (a `static __thread` buffer) would be written while
 * another task's copy is resident: read into a bounce buffer and copy once
 * we run again. */
#define EVS_BOUNCE_MAX (1 << 20)

static long backend_read(struct evs_fread *j)
{
	size_t total = iov_total(j->iov, j->cnt);
	int in_tls = 0;
	for (int i = 0; i < j->cnt && !in_tls; i++)
		in_tls = evs_tls_overlaps(j->iov[i].iov_base, j->iov[i].iov_len);
	if (!in_tls)
		return evs_fileio_read(j);
	char *bounce = total <= EVS_BOUNCE_MAX ? malloc(total ? total : 1) : NULL;
	if (!bounce) {  /* too big to bounce: read on the worker */
		evs_stat_add(EVS_ST_fallbacks, 1);
		return evs_fileio_read_now(j);
	}
	struct iovec one = { bounce, total };
	struct evs_fread b = { j->fd, &one, 1, j->off };
	long r = evs_fileio_read(&b);
	for (int i = 0, done = 0; i < j->cnt && done < r; i++) {
		size_t n = j->iov[i].iov_len < (size_t)(r - done) ? j->iov[i].iov_len : (size_t)(r - done);
		memcpy(j->iov[i].iov_base, bounce + done, n);
		done += (int)n;
	}
	free(bounce);
	return r;
}

long evs_file_read(int fd, const struct iovec *iov, int cnt, off_t off)
{
	long r = evs_sys6(SYS_preadv2, fd, iov, cnt, off, 0, RWF_NOWAIT);
	if (r == 0 || (r > 0 && (size_t)r == iov_total(iov, cnt))) {
		evs_stat_add(EVS_ST_file_fast, 1);
		return r;
	}
	if (r < 0 && r != -EAGAIN && r != -EOPNOTSUPP)
		return r;  /* EBADF, EISDIR, EINVAL...: the kernel's answer */
	struct evs_fread j = { fd, iov, cnt, off };
	if (r < 0)
		return backend_read(&j);
	/* Short: the rest of the range is not cached (or is past EOF). */
	struct iovec sb[EVS_IOV_STACK], *v = evs_iov_copy(iov, cnt, sb);
	if (!v)
		return r;
	struct iovec *rest = v;
	int left = cnt;
	size_t skip = (size_t)r;
	while (left && skip >= rest->iov_len) {
		skip -= rest->iov_len;
		rest++;
		left--;
	}
	if (left) {
		rest->iov_base = (char *)rest->iov_base + skip;
		rest->iov_len -= skip;
		j = (struct evs_fread){ fd, rest, left, off < 0 ? -1 : off + r };
		long more = backend_read(&j);
		if (more > 0)
			r += more;
	}
	evs_iov_free(v, sb);
	return r;
}

static ssize_t pread_common(int fd, void *buf, size_t n, off_t off,
			    ssize_t (*real)(int, void *, size_t, off_t))
{
	struct evs_fd *f = evs_hook_fd(fd);
	if (f && f->kind == EVS_FD_FILE) {
		if (off < 0) {
			errno = EINVAL;
			return -1;
		}
		struct iovec one = { buf, n };
		return evs_ret(evs_file_read(fd, &one, 1, off));
	}
	evs_fallback_fd(fd);
	return real(fd, buf, n, off);
}

EVS_HOOK ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	return pread_common(fd, buf, n, off, REAL(pread));
}

EVS_HOOK ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
	return pread_common(fd, buf, n, off, REAL(pread64));
}

EVS_HOOK ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	if (n > buflen)
		return REAL(__pread_chk)(fd, buf, n, off, buflen);
	return pread_common(fd, buf, n, off, REAL(pread));
}

EVS_HOOK ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	if (n > buflen)
		return REAL(__pread64_chk)(fd, buf, n, off, buflen);
	return pread_common(fd, buf, n, off, REAL(pread64));
}

static ssize_t preadv_common(int fd, const struct iovec *iov, int cnt, off_t off,
			     ssize_t (*real)(int, const struct iovec *, int, off_t))
{
	struct evs_fd *f = evs_hook_fd(fd);
	if (f && f->kind == EVS_FD_FILE && cnt > 0 && cnt <= IOV_MAX) {
		if (off < 0) {
			errno = EINVAL;
			return -1;
		}
		return evs_ret(evs_file_read(fd, iov, cnt, off));
	}
	evs_fallback_fd(fd);
	return real(fd, iov, cnt, off);
}

EVS_HOOK ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return preadv_common(fd, iov, cnt, off, REAL(preadv));
}

EVS_HOOK ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return preadv_common(fd, iov, cnt, off, REAL(preadv64));
}

/* --- name resolution on the pool -------------------------------------- */

/* Arguments that point into a swapped TLS block cannot be used by a pool
 * thread (see backend_read): such a lookup runs on the worker (counted). */
static bool any_in_tls(const void *const *ptrs, int n)
{
	for (int i = 0; i < n; i++)
		if (ptrs[i] && evs_tls_overlaps(ptrs[i], 1))
			return true;
	return false;
}

struct gai {
	const char *node, *service;
	const struct addrinfo *hints;
	struct addrinfo **res;
};

static long job_getaddrinfo(void *arg)
{
	struct gai *g = arg;
	return REAL(getaddrinfo)(g->node, g->service, g->hints, g->res);
}

EVS_HOOK int getaddrinfo(const char *node, const char *service,
			 const struct addrinfo *hints, struct addrinfo **res)
{
	if (!evs_current())
		return REAL(getaddrinfo)(node, service, hints, res);
	struct gai g = { node, service, hints, res };
	const void *p[] = { node, service, hints, res };
	if (any_in_tls(p, 4)) {
		EVS_FALLBACK();
		return (int)job_getaddrinfo(&g);
	}
	return (int)evs_offload(job_getaddrinfo, &g);
}

struct gni {
	const struct sockaddr *sa;
	socklen_t salen;
	char *host;
	socklen_t hostlen;
	char *serv;
	socklen_t servlen;
	int flags;
};

static long job_getnameinfo(void *arg)
{
	struct gni *g = arg;
	return REAL(getnameinfo)(g->sa, g->salen, g->host, g->hostlen, g->serv, g->servlen, g->flags);
}

EVS_HOOK int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
			 socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
	if (!evs_current())
		return REAL(getnameinfo)(sa, salen, host, hostlen, serv, servlen, flags);
	struct gni g = { sa, salen, host, hostlen, serv, servlen, flags };
	const void *p[] = { sa, host, serv };
	if (any_in_tls(p, 3)) {
		EVS_FALLBACK();
		return (int)job_getnameinfo(&g);
	}
	return (int)evs_offload(job_getnameinfo, &g);
}

/* gethostbyname_r reports through h_errnop, which the caller owns, so it
 * survives the trip through the pool thread. */
struct ghr {
	const char *name;
	struct hostent *ret;
	char *buf;
	size_t buflen;
	struct hostent **result;
	int *h_errnop;
};

static long job_gethostbyname_r(void *arg)
{
	struct ghr *g = arg;
	return REAL(gethostbyname_r)(g->name, g->ret, g->buf, g->buflen, g->result, g->h_errnop);
}

EVS_HOOK int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
			     struct hostent **result, int *h_errnop)
{
	if (!evs_current())
		return REAL(gethostbyname_r)(name, ret, buf, buflen, result, h_errnop);
	struct ghr g = { name, ret, buf, buflen, result, h_errnop };
	const void *p[] = { name, ret, buf, result, h_errnop };
	if (any_in_tls(p, 5)) {
		EVS_FALLBACK();
		return (int)job_gethostbyname_r(&g);
	}
	return (int)evs_offload(job_gethostbyname_r, &g);
}

/* --- sendfile to a socket ---------------------------------------------- */

/* A blocking sendfile returns when `count` bytes went out, at end of file,
 * or on an error. The socket is made non-blocking for each call (sendfile
 * has no per-call flag) and the task parks on writability in between.
 * The file side still reads on the worker: a page-cache miss there blocks
 * it (the file I/O issue). */
static ssize_t sendfile_common(int out, int in, off_t *offp, size_t count,
			       ssize_t (*real)(int, int, off_t *, size_t))
{
	struct evs_fd *f = evs_hook_fd(out);
	long fl;
	if (!f || f->kind != EVS_FD_SOCKET || f->nonblock || f->shim_nonblock ||
	    (fl = evs_sys_fcntl(out, F_GETFL, 0)) < 0 || (fl & O_NONBLOCK)) {
		evs_fallback_fd(out);
		return real(out, in, offp, count);
	}
	size_t done = 0;
	int64_t deadline = evs_fd_deadline(f, EVS_OUT);
	for (;;) {
		uint32_t seq = __atomic_load_n(&f->seq[EVS_OUT], __ATOMIC_ACQUIRE);
		evs_sys_fcntl(out, F_SETFL, fl | O_NONBLOCK);
		long r = evs_sys6(SYS_sendfile, out, in, offp, count - done, 0, 0);
		evs_sys_fcntl(out, F_SETFL, fl);
		if (r > 0) {
			done += (size_t)r;
			if (done == count)
				return (ssize_t)done;
			continue;  /* a partial send: try again, EAGAIN parks */
		}
		if (r == 0)
			return (ssize_t)done;  /* end of file */
		if (r != -EAGAIN)
			return done ? (ssize_t)done : evs_ret(r);
		r = evs_fd_wait(f, out, EVS_OUT, seq, deadline);
		if (r == -EOPNOTSUPP)
			r = evs_fd_block(out, EVS_OUT, deadline);
		if (r == -ECANCELED) {
			evs_task_testcancel();
			continue;
		}
		if (r < 0)  /* SO_SNDTIMEO passed (EAGAIN) or closed */
			return done ? (ssize_t)done : evs_ret(r == -ETIME ? -EAGAIN : r);
	}
}

EVS_HOOK ssize_t sendfile(int out, int in, off_t *offp, size_t count)
{
	return sendfile_common(out, in, offp, count, REAL(sendfile));
}

EVS_HOOK ssize_t sendfile64(int out, int in, off_t *offp, size_t count)
{
	return sendfile_common(out, in, offp, count, REAL(sendfile64));
}
