/* One file operation as the file backends (io/uring.c, io/aio.c, the
 * blocking pool through rt/fileio.c) see it: a plain description, made by
 * the hooks, carried out by whichever backend takes it. */
#ifndef EVS_FOP_H
#define EVS_FOP_H
#include <sys/types.h>
#include <sys/uio.h>

enum evs_fop_kind {
	EVS_FOP_READ,     /* preadv2(fd, iov, cnt, off, rwflags) */
	EVS_FOP_WRITE,    /* pwritev2(fd, iov, cnt, off, rwflags) */
	EVS_FOP_OPEN,     /* openat(fd, path, flags, mode) */
	EVS_FOP_FSYNC,    /* fsync(fd), or fdatasync(fd) when flags is 1 */
	EVS_FOP_STATX,    /* statx(fd, path, flags, mask, stx) */
};

struct statx;

struct evs_fop {
	int kind;
	int fd;                  /* the file, or the directory fd of a path */
	const struct iovec *iov; /* READ, WRITE */
	int cnt;
	off_t off;               /* READ, WRITE: -1 = at the file position */
	int rwflags;             /* READ, WRITE: RWF_* the program asked for */
	const char *path;        /* OPEN, STATX */
	int flags;               /* OPEN: O_*; FSYNC: 1 = data only; STATX: AT_* */
	unsigned mode;           /* OPEN: mode; STATX: mask */
	struct statx *stx;       /* STATX */
};
#endif
