/* splice and tee between pipes and sockets, from tasks.
 *
 * Natively a blocking splice waits for its input pipe or socket to have
 * bytes, or for its output pipe or socket to have room (Rust's
 * std::io::copy splices between a socket and a pipe). Made as it is, that
 * wait blocked the worker and every task on it. Here each attempt is
 * made without waiting: SPLICE_F_NONBLOCK for the pipe sides, and a
 * socket side the program left blocking made non-blocking around the
 * call (the kernel takes a socket's side from its O_NONBLOCK flag only,
 * as for sendfile: rt/sendfile.c). When the attempt says EAGAIN, the
 * side it waits for is the input when that holds nothing (FIONREAD),
 * else the output; the task parks on that side (the fd wait loop:
 * signals and SA_RESTART, SO_RCVTIMEO/SO_SNDTIMEO of a socket side,
 * cancellation) and tries again, changing sides when the other one is
 * now the one in the way.
 *
 * Made as they are: calls the program made non-blocking
 * (SPLICE_F_NONBLOCK with no blocking socket side), and, as fallbacks
 * (counted), a side that is a regular file (its wait is the disk's: as
 * copy_file_range, on the worker) or a tty or device. */
#include "../evs.h"
#include "fdio.h"
#include "fdtab.h"
#include "../libc/sys.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

/* Not errnos: the wait must move to the other side; the side in the way
 * does not block natively (the program's EAGAIN). */
#define EVS_OTHER_SIDE (-4095)
#define EVS_NO_WAIT (-4094)

struct sp {
	int in, out;
	loff_t *off_in, *off_out;
	size_t len;
	unsigned flags;
	bool tee;
	struct evs_fd *fi, *fo;
	long fl_in, fl_out;  /* a blocking socket side's flags, else -1 */
	bool blocks[2];      /* natively, that side waits (EVS_IN, EVS_OUT) */
	int want;            /* the side the loop waits on */
	int now;             /* the side an attempt found in the way */
};

/* A pipe side (a FIFO whose record says "other": after a splice into a
 * pipe the kernel refuses RWF_NOWAIT writes on it, and rt/xfer.c then
 * serves it like a tty), a socket side, or neither. */
enum { SIDE_NONE, SIDE_PIPE, SIDE_SOCKET };

static int side_kind(const struct evs_fd *f, int fd)
{
	if (f->kind == EVS_FD_PIPE)
		return SIDE_PIPE;
	if (f->kind == EVS_FD_SOCKET)
		return SIDE_SOCKET;
	struct stat st;
	if (f->kind == EVS_FD_OTHER && evs_sys3(SYS_fstat, fd, (long)&st, 0) == 0 &&
	    S_ISFIFO(st.st_mode))
		return SIDE_PIPE;
	return SIDE_NONE;
}

static long attempt(struct sp *s)
{
	unsigned fl = s->flags | SPLICE_F_NONBLOCK;
	if (s->fl_in >= 0)
		evs_sys_fcntl(s->in, F_SETFL, s->fl_in | O_NONBLOCK);
	if (s->fl_out >= 0)
		evs_sys_fcntl(s->out, F_SETFL, s->fl_out | O_NONBLOCK);
	long r = s->tee ? evs_sys6(SYS_tee, s->in, s->out, (long)s->len, fl, 0, 0)
			: evs_sys6(SYS_splice, s->in, (long)s->off_in, s->out, (long)s->off_out,
				   (long)s->len, fl);
	if (s->fl_in >= 0)
		evs_sys_fcntl(s->in, F_SETFL, s->fl_in);
	if (s->fl_out >= 0)
		evs_sys_fcntl(s->out, F_SETFL, s->fl_out);
	return r;
}

/* After EAGAIN: the input holds nothing (wait for it), else the output
 * has no room. */
static int in_the_way(struct sp *s)
{
	int n = 0;
	if (evs_sys3(SYS_ioctl, s->in, FIONREAD, (long)&n) == 0 && n == 0)
		return EVS_IN;
	return EVS_OUT;
}

static long try_splice(int fd, void *arg, struct evs_try *st)
{
	(void)fd;
	(void)st;
	struct sp *s = arg;
	long r = attempt(s);
	if (r != -EAGAIN)
		return r;
	s->now = in_the_way(s);
	if (!s->blocks[s->now])
		return EVS_NO_WAIT;
	return s->now == s->want ? -EAGAIN : EVS_OTHER_SIDE;
}

/* The program's O_NONBLOCK for a socket side it left blocking: the flags
 * to restore after each attempt; -1 for a pipe or a non-blocking socket.
 * -2: the flags cannot be read. */
static long socket_flags(struct evs_fd *f, int fd)
{
	if (f->kind != EVS_FD_SOCKET || f->nonblock)
		return -1;
	long fl = evs_sys_fcntl(fd, F_GETFL, 0);
	if (fl < 0 || (fl & O_NONBLOCK))
		return -2;
	return fl;
}

long evs_splice(int in, loff_t *off_in, int out, loff_t *off_out, size_t len, unsigned flags,
		bool tee)
{
	struct evs_fd *fi = evs_fd_get(in), *fo = evs_fd_get(out);
	if (!fi || !fo || fi->shim_nonblock || fo->shim_nonblock)
		return EVS_USE_REAL;
	int ki = side_kind(fi, in), ko = side_kind(fo, out);
	if (ki == SIDE_NONE || ko == SIDE_NONE || (ki != SIDE_PIPE && ko != SIDE_PIPE))
		return EVS_USE_REAL;  /* a file's or a tty's side; no pipe: the kernel's EINVAL */
	struct sp s = { .in = in, .out = out, .off_in = off_in, .off_out = off_out, .len = len,
			.flags = flags, .tee = tee, .fi = fi, .fo = fo };
	s.fl_in = socket_flags(fi, in);
	s.fl_out = socket_flags(fo, out);
	if (s.fl_in == -2 || s.fl_out == -2)
		return EVS_USE_REAL;
	/* Which sides wait natively (fs/splice.c): a pipe side unless
	 * SPLICE_F_NONBLOCK, which the kernel adds when either end of two
	 * pipes, or the other end of a pipe and a socket, is O_NONBLOCK; a
	 * socket side unless the socket is O_NONBLOCK. */
	bool nb = flags & SPLICE_F_NONBLOCK;
	if (ki == SIDE_PIPE && ko == SIDE_PIPE)
		nb = nb || fi->nonblock || fo->nonblock;
	else
		nb = nb || (ki == SIDE_SOCKET ? fi->nonblock : fo->nonblock);
	s.blocks[EVS_IN] = ki == SIDE_PIPE ? !nb : s.fl_in >= 0;
	s.blocks[EVS_OUT] = ko == SIDE_PIPE ? !nb : s.fl_out >= 0;
	if (!s.blocks[EVS_IN] && !s.blocks[EVS_OUT])  /* non-blocking as the program made it */
		return tee ? evs_sys6(SYS_tee, in, out, (long)len, flags, 0, 0)
			   : evs_sys6(SYS_splice, in, (long)off_in, out, (long)off_out, (long)len, flags);
	int64_t dl_in = evs_fd_deadline(fi, EVS_IN), dl_out = evs_fd_deadline(fo, EVS_OUT);
	/* Never park before the first attempt (fdtab.h, invariant 5): the
	 * kernel answers bad arguments before it waits (a pipe spliced to
	 * itself: EINVAL; an offset on a pipe: ESPIPE). Skipped on a pipe
	 * last seen empty, the call waited for ever. */
	evs_fd_seen_ready(fi, EVS_IN);
	evs_fd_seen_ready(fo, EVS_OUT);
	s.want = EVS_IN;
	for (;;) {
		struct evs_fd *f = s.want == EVS_IN ? fi : fo;
		long r = evs_fd_io(f, s.want == EVS_IN ? in : out, s.want, try_splice, NULL, &s, 0,
				   s.want == EVS_IN ? dl_in : dl_out);
		if (r == EVS_NO_WAIT || r == -ETIME)
			return -EAGAIN;
		if (r != EVS_OTHER_SIDE)
			return r;
		s.want = s.now;
	}
}
