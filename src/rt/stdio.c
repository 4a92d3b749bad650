/* glibc's stdio from tasks.
 *
 * Why: a FILE reads and writes through glibc's internal aliases of read
 * and write (its jump table), which no preloaded library can interpose.
 * A fgets on an empty pipe would block the worker's kernel thread, and
 * with it every task of that worker; so would a printf into a full pipe.
 *
 * How: the hooks look at the FILE before the real call (glibc's public
 * struct _IO_FILE says what is buffered and how much room the output
 * buffer has). When the real call will need its fd, and the fd can keep
 * it waiting (a pipe, a FIFO, a socket, a tty...), the task parks until
 * the fd is ready (the fd wait loop, rt/fdwait.c: signals, SA_RESTART,
 * SO_RCVTIMEO/SO_SNDTIMEO and cancellation as a read or write sees them);
 * then the real call reads what is there, or writes into free room,
 * without blocking. A call that could need the fd more than once (a line
 * arriving in parts, a fread or fwrite larger than what is there) is made
 * of pieces, each a real call that touches the fd once at most, after its
 * own wait: fgets and fread read exactly what is buffered or what the
 * kernel holds (FIONREAD), or a single byte after the wait, which brings
 * in what the fd has; fwrite fills the buffer and writes it once.
 *
 * The FILE's lock: its owner is the kernel thread, which all tasks of a
 * worker share. A task never parks inside a real call (it would hold the
 * lock, and another task of its worker could enter the FILE "recursively"),
 * and never parks while its thread holds the lock (flockfile, or an
 * _unlocked call under it): such calls are passed to glibc as they are.
 * glibc's state is only read, except the error flag, which a failed wait
 * sets under the lock, as a failed read or write would.
 *
 * Races, accepted: another thread reading the same FILE (or the same fd)
 * between the wait and the real call may take the data, and the real call
 * then blocks as it would have; a piecewise call takes the lock once per
 * piece, so another thread's call on the same FILE may come between two
 * pieces (natively a call is atomic). */
#include "../evs.h"
#include "stdio.h"
#include "config.h"
#include "fdio.h"
#include "fdtab.h"
#include "sched.h"
#include "../libc/real.h"
#include "../libc/sys.h"
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* Flag bits of glibc's libio.h beyond the three the public header has
 * (_IO_EOF_SEEN, _IO_ERR_SEEN, _IO_USER_LOCK); their values have not
 * changed since libio came into glibc. */
#define IO_UNBUFFERED 0x0002
#define IO_NO_READS 0x0004
#define IO_NO_WRITES 0x0008
#define IO_IN_BACKUP 0x0100   /* reading pushed-back characters */
#define IO_LINE_BUF 0x0200
#define IO_PUTTING 0x0800     /* the buffer holds output */
#define IO_IS_FILEBUF 0x2000

/* printf output formatted on the stack up to this size, else malloc'd. */
#define EVS_STDIO_FMT_STACK 1024

/* glibc's _IO_lock_t, behind the FILE's _lock: a recursive lock whose
 * owner is the holding thread's descriptor, its thread pointer. */
struct file_lock {
	int lock;
	int cnt;
	void *owner;
};

/* This kernel thread holds fp's lock (a task of this worker called
 * flockfile). Only this thread sets the owner to this value or clears it,
 * so the unlocked look is exact. */
static bool held_here(FILE *fp)
{
	struct file_lock *l = fp->_lock;
	if ((fp->_flags & _IO_USER_LOCK) || !l)
		return false;
	return __atomic_load_n(&l->owner, __ATOMIC_RELAXED) == __builtin_thread_pointer();
}

/* The record of fp's fd when the runtime looks after this call (see
 * stdio.h), else NULL. */
static struct evs_fd *ours(FILE *fp, int dir)
{
	if (!fp || evs_config.disable || !evs_current())
		return NULL;
	int fl = fp->_flags;
	if (!(fl & IO_IS_FILEBUF) || fp->_fileno < 0 || fp->_mode > 0 ||
	    (fl & (dir == EVS_IN ? IO_NO_READS : IO_NO_WRITES)) || held_here(fp))
		return NULL;
	struct evs_fd *f = evs_fd_get(fp->_fileno);
	if (!f || f->nonblock || f->always_ready)
		return NULL;
	if (f->kind != EVS_FD_SOCKET && f->kind != EVS_FD_PIPE && f->kind != EVS_FD_OTHER)
		return NULL;
	return f;
}

static long poll_try(int fd, void *arg, struct evs_try *st)
{
	(void)st;
	long r = evs_sys_poll1(fd, *(short *)arg, 0);
	if (r < 0)
		return r;
	if (r)
		return 0;  /* POLLHUP, POLLERR count too: the call sees them */
	evs_stat_add(EVS_ST_stdio_parks, 1);
	return -EAGAIN;
}

/* Park until fd is ready in dir: 0, or the -errno a blocking read or
 * write would have failed with meanwhile. */
static long wait_fd(struct evs_fd *f, int fd, int dir)
{
	short ev = dir == EVS_IN ? POLLIN : POLLOUT;
	long r = evs_fd_io(f, fd, dir, poll_try, NULL, &ev, 0, evs_fd_deadline(f, dir));
	return r == -ETIME ? -EAGAIN : r;  /* a socket timeout, as read says it */
}

/* The call fails with e: the error flag, as glibc sets it when a read or
 * write fails. */
static long fail(FILE *fp, long e)
{
	flockfile(fp);
	fp->_flags |= _IO_ERR_SEEN;
	funlockfile(fp);
	return e;
}

/* --- input ------------------------------------------------------------ */

static size_t buffered(FILE *fp)
{
	ptrdiff_t n = fp->_IO_read_end - fp->_IO_read_ptr;
	return n > 0 ? (size_t)n : 0;
}

/* The call will not read from the fd, buffered or not: end of file is
 * sticky (glibc 2.28 on), the call returns at once; or pushed-back
 * characters hide the buffer behind them (not looked at: no wait). */
static bool reads_nothing(FILE *fp)
{
	return (fp->_flags & (IO_IN_BACKUP | _IO_EOF_SEEN)) != 0;
}

/* Bytes the kernel holds for reading (0 when it cannot say). */
static size_t in_kernel(int fd)
{
	int n = 0;
	if (evs_sys3(SYS_ioctl, fd, FIONREAD, &n) < 0 || n < 0)
		return 0;
	return (size_t)n;
}

long evs_stdio_in(FILE *fp)
{
	if (!fp || buffered(fp) || reads_nothing(fp))
		return 0;  /* the common case first: no read to make */
	struct evs_fd *f = ours(fp, EVS_IN);
	if (!f)
		return 0;
	long r = wait_fd(f, fp->_fileno, EVS_IN);
	return r < 0 ? fail(fp, r) : 0;
}

long evs_stdio_gets(FILE *fp, char *s, int n, bool unlocked)
{
	if (!fp || n < 2)
		return EVS_USE_REAL;
	size_t left = (size_t)n - 1, k = buffered(fp);
	if (k >= left || (k && memchr(fp->_IO_read_ptr, '\n', k)))
		return EVS_USE_REAL;  /* the whole answer is buffered */
	struct evs_fd *f = ours(fp, EVS_IN);
	if (!f || reads_nothing(fp))
		return EVS_USE_REAL;
	char *(*piece)(char *, int, FILE *) = unlocked ? REAL(fgets_unlocked) : REAL(fgets);
	size_t done = 0;
	for (;;) {
		if ((k = buffered(fp))) {
			/* exactly the buffered bytes, through a newline:
			 * copied, nothing read */
			if (k > left)
				k = left;
			char *nl = memchr(fp->_IO_read_ptr, '\n', k);
			if (nl)
				k = (size_t)(nl - fp->_IO_read_ptr) + 1;
			piece(s + done, (int)k + 1, fp);
			done += k;
			left -= k;
			if (nl || !left)
				return (long)done;
			continue;
		}
		long r = wait_fd(f, fp->_fileno, EVS_IN);
		if (r < 0) {
			fail(fp, r);
			return r == -EAGAIN && done ? (long)done : r;  /* as fgets */
		}
		if (!piece(s + done, 2, fp)) {  /* one read: what the fd has */
			if (fp->_flags & _IO_EOF_SEEN)
				return (long)done;
			return errno == EAGAIN && done ? (long)done : -errno;
		}
		done++;
		left--;
		if (s[done - 1] == '\n' || !left)
			return (long)done;
	}
}

long evs_stdio_read(FILE *fp, void *p, size_t n, bool unlocked, int *err)
{
	*err = 0;
	if (!fp || !n || buffered(fp) >= n)
		return EVS_USE_REAL;
	struct evs_fd *f = ours(fp, EVS_IN);
	if (!f || reads_nothing(fp))
		return EVS_USE_REAL;
	size_t (*piece)(void *, size_t, size_t, FILE *) =
		unlocked ? REAL(fread_unlocked) : REAL(fread);
	size_t done = 0;
	while (done < n) {
		size_t have = buffered(fp) + in_kernel(fp->_fileno);
		if (!have) {
			long r = wait_fd(f, fp->_fileno, EVS_IN);
			if (r < 0) {
				*err = (int)-fail(fp, r);
				break;
			}
			have = buffered(fp) + in_kernel(fp->_fileno);
			if (!have)
				have = 1;  /* one read: its end, or what came since */
		}
		size_t take = n - done < have ? n - done : have;
		size_t got = piece((char *)p + done, 1, take, fp);
		done += got;
		if (got < take)
			break;  /* end of file or an error, flagged by glibc */
	}
	return (long)done;
}

/* Room for len more bytes and the NUL in *line, grown as glibc grows
 * it: 0, -EOVERFLOW or -ENOMEM. */
static int grow(char **line, size_t *cap, size_t cur, size_t len)
{
	if (len >= (size_t)SSIZE_MAX - cur)
		return -EOVERFLOW;
	size_t need = cur + len + 1;
	if (need <= *cap)
		return 0;
	if (need < 2 * *cap)
		need = 2 * *cap;
	char *p = realloc(*line, need);
	if (!p)
		return -ENOMEM;
	*line = p;
	*cap = need;
	return 0;
}

ssize_t evs_stdio_getdelim(char **line, size_t *cap, int delim, FILE *fp, int *err)
{
	*err = 0;
	if (!fp || !line || !cap)
		return EVS_USE_REAL;
	size_t k = buffered(fp);
	if (k && memchr(fp->_IO_read_ptr, delim, k))
		return EVS_USE_REAL;  /* the whole line is buffered */
	struct evs_fd *f = ours(fp, EVS_IN);
	if (!f || reads_nothing(fp) || (fp->_flags & _IO_ERR_SEEN))
		return EVS_USE_REAL;
	if (!*line || !*cap) {
		*cap = 120;  /* glibc's first size */
		if (!(*line = malloc(*cap))) {
			*err = ENOMEM;
			return -1;
		}
	}
	size_t cur = 0;
	for (;;) {
		if (!(k = buffered(fp))) {
			long r = wait_fd(f, fp->_fileno, EVS_IN);
			if (r < 0) {
				*err = (int)-fail(fp, r);
				break;
			}
			int c = REAL(fgetc)(fp);  /* one read: what the fd has */
			if (c == EOF)
				break;
			if ((*err = -grow(line, cap, cur, 1)))
				return -1;
			(*line)[cur++] = (char)c;
			if (c == delim)
				break;
			continue;
		}
		char *end = memchr(fp->_IO_read_ptr, delim, k);
		if (end)
			k = (size_t)(end - fp->_IO_read_ptr) + 1;
		if ((*err = -grow(line, cap, cur, k)))
			return -1;
		size_t got = REAL(fread)(*line + cur, 1, k, fp);  /* copied, nothing read */
		cur += got;
		if (end || got < k)
			break;
	}
	if (!cur)
		return -1;
	(*line)[cur] = '\0';
	return (ssize_t)cur;
}

/* --- output ----------------------------------------------------------- */

/* Bytes the buffer takes without a write; 0 also when it does not hold
 * output yet (its first byte sets it up for output). */
static size_t room(FILE *fp)
{
	if (!(fp->_flags & IO_PUTTING) || !fp->_IO_write_base)
		return 0;
	/* as glibc's fwrite counts it: a line-buffered stream keeps its
	 * write end at the start, so that every putc comes to it */
	char *end = (fp->_flags & IO_LINE_BUF) ? fp->_IO_buf_end : fp->_IO_write_end;
	return end > fp->_IO_write_ptr ? (size_t)(end - fp->_IO_write_ptr) : 0;
}

static bool pending(FILE *fp)
{
	return (fp->_flags & IO_PUTTING) && fp->_IO_write_ptr > fp->_IO_write_base;
}

/* Whether putting c (EOF: a flush) into fp writes to the fd. */
static inline bool out_writes(FILE *fp, int c)
{
	int fl = fp->_flags;
	if (c == EOF)
		return pending(fp);
	return (fl & IO_UNBUFFERED) || !room(fp) || (c == '\n' && (fl & IO_LINE_BUF));
}

long evs_stdio_out(FILE *fp, int c)
{
	if (!fp || !out_writes(fp, c))
		return 0;  /* the common case first: it goes into the buffer */
	struct evs_fd *f = ours(fp, EVS_OUT);
	if (!f)
		return 0;
	bool ready = false;  /* waited since the last write: the fd takes one */
	while (out_writes(fp, c)) {
		if (!ready) {
			long r = wait_fd(f, fp->_fileno, EVS_OUT);
			if (r < 0)
				return fail(fp, r);
			/* other tasks of this worker may have used fp while
			 * this one was parked: look again */
			ready = true;
			continue;
		}
		if (!(c == '\n' && (fp->_flags & IO_LINE_BUF) && !room(fp) && pending(fp)))
			break;
		/* a full buffer, then the line: two writes; the first alone */
		if (REAL(fflush)(fp) == EOF)
			return -errno;
		ready = false;
	}
	return 0;
}

/* Bytes straight to the fd, parking as a write() does (rt/xfer.c): 0 or
 * -errno. glibc writes this way too when a buffer would not hold them,
 * and its buffer is empty here, so its state has nothing to change. */
static long write_fd(struct evs_fd *f, int fd, const char *s, size_t n)
{
	while (n) {
		struct iovec one = { (void *)s, n };
		struct evs_xfer x = { .f = f, .iov = &one, .cnt = 1, .all = 1 };
		long r = evs_xfer_out(fd, &x);
		if (r == EVS_USE_REAL)
			r = evs_sys_write(fd, s, n);  /* as glibc would */
		if (r < 0)
			return r;
		if (r == 0)
			return -EIO;  /* not seen: n > 0 bytes move or fail */
		/* short: an error after progress, or a signal; glibc asks
		 * again, and gets the error (or the rest) */
		s += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The writes fwrite of n bytes makes, as glibc makes them: into the
 * buffer while it takes them; a full buffer written out once; what is
 * left past a bufferful written straight to the fd (all of it when fp is
 * unbuffered); the tail buffered. Each write is preceded by a wait. */
static long put(struct evs_fd *f, FILE *fp, const char *s, size_t n, bool unlocked, int *err)
{
	size_t (*piece)(const void *, size_t, size_t, FILE *) =
		unlocked ? REAL(fwrite_unlocked) : REAL(fwrite);
	size_t done = 0;
	bool ready = false;  /* as in evs_stdio_out */
	*err = 0;
	while (done < n) {
		size_t rem = n - done, space = room(fp), len = 0;
		size_t whole = (size_t)(fp->_IO_buf_end - fp->_IO_buf_base);
		int fl = fp->_flags;
		bool writes, direct = false, flush = false;
		if (!(fl & IO_UNBUFFERED) && rem <= space) {
			/* fits: a write only at a newline of a line-buffered
			 * stream (once, up to the last newline) */
			len = rem;
			writes = (fl & IO_LINE_BUF) && memchr(s + done, '\n', rem);
		} else if ((fl & IO_UNBUFFERED) ||
			   ((fl & IO_PUTTING) && !pending(fp) && rem >= whole)) {
			/* whole bufferfuls (glibc's alignment), or everything */
			len = (fl & IO_UNBUFFERED) || whole < 128 ? rem : rem - rem % whole;
			writes = direct = true;
		} else if (space) {
			len = space;  /* fill it (a line-buffered one may write once) */
			writes = (fl & IO_LINE_BUF) && memchr(s + done, '\n', space);
		} else if (pending(fp)) {
			writes = flush = true;  /* full: write it out */
		} else {
			/* the first byte sets the buffer up for output, and may
			 * learn it is line-buffered (a tty) */
			len = 1;
			writes = s[done] == '\n';
		}
		if (direct) {
			/* write_fd parks by itself */
			long r = write_fd(f, fp->_fileno, s + done, len);
			if (r < 0) {
				*err = (int)-fail(fp, r);
				break;
			}
			done += len;
			ready = false;
			continue;
		}
		if (writes && !ready) {
			long r = wait_fd(f, fp->_fileno, EVS_OUT);
			if (r < 0) {
				*err = (int)-fail(fp, r);
				break;
			}
			ready = true;  /* look again: see evs_stdio_out */
			continue;
		}
		ready = false;
		if (flush) {
			if ((unlocked ? REAL(fflush_unlocked) : REAL(fflush))(fp) == EOF)
				break;  /* a write error, flagged by glibc */
			continue;
		}
		size_t got = piece(s + done, 1, len, fp);
		done += got;
		if (got < len)
			break;
	}
	return (long)done;
}

/* fwrite of n bytes into fp makes no write: the buffer takes them. */
static bool fits(FILE *fp, const char *s, size_t n)
{
	int fl = fp->_flags;
	return !(fl & IO_UNBUFFERED) && n <= room(fp) && !((fl & IO_LINE_BUF) && memchr(s, '\n', n));
}

long evs_stdio_write(FILE *fp, const void *p, size_t n, bool unlocked, int *err)
{
	*err = 0;
	if (!fp || !n || fits(fp, p, n))
		return EVS_USE_REAL;  /* the common case first */
	struct evs_fd *f = ours(fp, EVS_OUT);
	if (!f)
		return EVS_USE_REAL;
	return put(f, fp, p, n, unlocked, err);
}

/* All n bytes or -errno. fwrite says all went in when a write failed
 * after the last byte was buffered; fputs, puts and printf fail then. */
static long put_all(struct evs_fd *f, FILE *fp, const char *p, size_t n, bool unlocked)
{
	bool clean = !(fp->_flags & _IO_ERR_SEEN);
	int err = 0;
	long r;
	if (fits(fp, p, n))
		r = (long)(unlocked ? REAL(fwrite_unlocked) : REAL(fwrite))(p, 1, n, fp);
	else
		r = put(f, fp, p, n, unlocked, &err);
	if (err)
		return -err;
	if ((size_t)r < n || (clean && (fp->_flags & _IO_ERR_SEEN)))
		return -errno;
	return r;
}

long evs_stdio_puts(FILE *fp, const void *p, size_t n, bool unlocked)
{
	struct evs_fd *f;
	if (!fp || fits(fp, p, n) || !(f = ours(fp, EVS_OUT)))
		return EVS_USE_REAL;  /* the common case first */
	return put_all(f, fp, p, n, unlocked);
}

/* glibc's, behind the _FORTIFY_SOURCE forms of printf (not declared
 * without _FORTIFY_SOURCE, which the shim is built without). */
int __vsnprintf_chk(char *s, size_t max, int flag, size_t len, const char *fmt, va_list ap);

static int format(char *buf, size_t len, int chk_flag, const char *fmt, va_list ap)
{
	if (chk_flag < 0)
		return vsnprintf(buf, len, fmt, ap);
	return __vsnprintf_chk(buf, len, chk_flag, len, fmt, ap);
}

long evs_stdio_vprintf(FILE *fp, int chk_flag, const char *fmt, va_list ap)
{
	struct evs_fd *f = ours(fp, EVS_OUT);
	if (!f)
		return EVS_USE_REAL;
	char sb[EVS_STDIO_FMT_STACK], *buf = sb;
	va_list again;
	va_copy(again, ap);
	int n = format(sb, sizeof(sb), chk_flag, fmt, ap);
	if (n >= (int)sizeof(sb) && (buf = malloc((size_t)n + 1)))
		n = format(buf, (size_t)n + 1, chk_flag, fmt, again);
	va_end(again);
	if (n < 0 || !buf)  /* glibc says how it fails (EOVERFLOW, EILSEQ) */
		return EVS_USE_REAL;
	long r = put_all(f, fp, buf, (size_t)n, false);
	if (buf != sb)
		free(buf);
	return r;
}

void evs_stdio_closing(FILE *fp)
{
	int fd = fp ? fp->_fileno : -1;  /* -1: a memory or cookie stream */
	if (fd >= 0)
		evs_fd_closing(fd);
}
