/* Shared by the fd hooks (fdio.c, net.c, poll.c). */
#ifndef EVS_FDIO_H
#define EVS_FDIO_H
#include "hook.h"
#include "../rt/fdtab.h"
#include "../libc/sys.h"
#include <sys/socket.h>
#include <sys/uio.h>

/* The record of fd when the runtime serves I/O on it (a socket or a pipe,
 * called from a task); NULL means: use the real call. */
static inline struct evs_fd *evs_hook_fd(int fd)
{
	if (!evs_current())
		return NULL;
	struct evs_fd *f = evs_fd_get(fd);
	if (!f || f->kind == EVS_FD_OTHER || f->kind == EVS_FD_UNKNOWN)
		return NULL;
	return f;
}

/* Reading or writing a regular file from a task (hook/file.c): through
 * the page cache at once when it can (RWF_NOWAIT), else through the file
 * backend while the task parks. off -1: at the file position, which moves
 * exactly as a plain read or write moves it. Returns a count or -errno. */
long evs_file_rw(struct evs_fd *f, int fd, const struct iovec *iov, int cnt, off_t off,
		 int rwflags, int out);

/* Count a real (blocking) call a task makes on an open fd the runtime does
 * not serve; calls on fds that are not open are not counted. */
static inline void evs_fallback_fd(int fd)
{
	struct evs_fd *f;
	if (evs_current() && (f = evs_fd_get(fd)) && f->kind != EVS_FD_UNKNOWN)
		EVS_FALLBACK();
}

/* One transfer in either direction, vectored, with an optional msghdr for
 * the first attempt (name and control data go out or come in once). */
struct evs_xfer {
	struct evs_fd *f;
	struct iovec *iov;
	int cnt;
	int flags;              /* the program's MSG_* flags */
	struct msghdr *msg;     /* recvmsg/sendmsg: name, control, msg_flags */
	int all;                /* keep going until every byte moved */
	int nonblock;
	size_t done;
};

/* evs_xfer_* answer this when the fd turned out not to be what the record
 * said: the hook then makes the real call. */
#define EVS_USE_REAL (-ENOSYS)

/* A writable copy of the program's iovec array (transfers advance it):
 * on the stack up to EVS_IOV_STACK entries, else malloc'd. */
#define EVS_IOV_STACK 64
struct iovec *evs_iov_copy(const struct iovec *iov, int cnt, struct iovec *stackbuf);
void evs_iov_free(struct iovec *iov, struct iovec *stackbuf);

ssize_t evs_xfer_in(int fd, struct evs_xfer *x);
ssize_t evs_xfer_out(int fd, struct evs_xfer *x);
/* The fd's record was wrong (ENOTSOCK, EOPNOTSUPP): look again. */
void evs_fd_reclassify(int fd);
#endif
