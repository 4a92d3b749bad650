/* The runtime's I/O verbs, one per kind of call a hook translates: bytes
 * through sockets and pipes (rt/xfer.c), accept and connect (rt/net.c),
 * regular files (rt/filerw.c, rt/fileops.c), sendfile (rt/sendfile.c) and
 * readiness (rt/pollwait.c). Each returns >= 0 or -errno, or EVS_USE_REAL
 * when the call is not the runtime's to serve (the hook makes the real one
 * and counts it). Called from tasks only. */
#ifndef EVS_FDIO_H
#define EVS_FDIO_H
#include "../evs.h"
#include "fdtab.h"
#include <linux/magic.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

struct statx;

/* One transfer in either direction, vectored, with an optional msghdr for
 * the first attempt (name and control data go out or come in once). */
struct evs_xfer {
	struct evs_fd *f;
	struct iovec *iov;       /* a writable copy: transfers advance it */
	int cnt;
	int flags;               /* the program's MSG_* flags */
	struct msghdr *msg;      /* recvmsg/sendmsg: name, control, msg_flags */
	int all;                 /* keep going until every byte moved */
	int nonblock;
	size_t done;
	struct msghdr m;         /* the attempt's own msghdr: the ring reads it
				  * at submission and writes names and flags
				  * back into it at completion (rt/netring.h) */
	void *bounce;            /* the ring's copy of a buffer in swapped TLS */
	struct iovec biov;       /* the bounce buffer as m's one iovec */
	size_t bounce_len;
	bool bounced;            /* the ring's operation moves bytes via bounce */
};
long evs_xfer_in(int fd, struct evs_xfer *x);
long evs_xfer_out(int fd, struct evs_xfer *x);
/* recvmmsg (out 0; tmo its timeout or NULL) / sendmmsg (out 1), blocking
 * form. */
long evs_mmsg(struct evs_fd *f, int fd, struct mmsghdr *v, unsigned n, int flags, int out,
	      struct timespec *tmo);

/* A writable copy of the program's iovec array: on the stack up to
 * EVS_IOV_STACK entries, else malloc'd (NULL when that fails). */
#define EVS_IOV_STACK 64
struct iovec *evs_iov_copy(const struct iovec *iov, int cnt, struct iovec *stackbuf);
void evs_iov_free(struct iovec *iov, struct iovec *stackbuf);

/* The fd's record was wrong (ENOTSOCK, ESPIPE...): look at it afresh. */
void evs_fd_reclassify(int fd);

long evs_accept(struct evs_fd *f, int fd, struct sockaddr *addr, socklen_t *len, int flags);
/* A listening socket whose O_NONBLOCK the program did not set (our
 * record says blocking): the shim's, maybe another process's shim sharing
 * it. Marks it so and says true. */
bool evs_fd_shims_listener(struct evs_fd *f, int fd);
long evs_connect(struct evs_fd *f, int fd, const struct sockaddr *sa, socklen_t len);

/* Regular files: through the page cache at once when it can (RWF_NOWAIT),
 * else through the file backend while the task parks. off -1: at the file
 * position, which moves exactly as a plain read or write moves it. */
long evs_file_rw(struct evs_fd *f, int fd, const struct iovec *iov, int cnt, off_t off,
		 int rwflags, int out);
long evs_open(int dirfd, const char *path, int flags, mode_t mode);
long evs_stat(int dirfd, const char *path, struct stat *st, int flags);
long evs_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *out);
long evs_fsync(int fd, int data_only);

/* sendfile to a socket (parks on writability, reads uncached file ranges
 * ahead through the backend) or to a regular file (on the pool). */
long evs_sendfile(int out, int in, off_t *offp, size_t count);

/* copy_file_range and sync_file_range: on the pool (their waits are the
 * disk's, and a copy is as long as the program asks); EVS_USE_REAL for
 * an offset in swapped TLS (rt/sendfile.c). */
long evs_copy_range(int in, loff_t *off_in, int out, loff_t *off_out, size_t len, unsigned flags);
long evs_sync_range(int fd, off_t off, off_t n, unsigned flags);

/* splice and tee between pipes and sockets (rt/splice.c): the task parks
 * on the side in the way. EVS_USE_REAL for other kinds of fds. */
long evs_splice(int in, loff_t *off_in, int out, loff_t *off_out, size_t len, unsigned flags,
		bool tee);

/* POSIX message queues (rt/mqueue.c): mq_timedreceive (out 0; rprio its
 * out-parameter) or mq_timedsend (out 1, sprio) on queue fd, abs the
 * program's CLOCK_REALTIME time or NULL; the task parks while the queue
 * is empty (or full). */
struct timespec;
long evs_mq_xfer(int fd, char *buf, size_t len, unsigned *rprio, unsigned sprio, int out,
		 const struct timespec *abs);

/* poll, select, epoll_wait: ask the kernel, park on every fd, ask again.
 * Deadlines are absolute monotonic ns (INT64_MAX: none). ppoll: the
 * program called ppoll, not poll (their restart after a stop differs). */
long evs_poll(struct pollfd *fds, nfds_t n, int64_t deadline, bool ppoll);
long evs_select(int nfds, fd_set *r, fd_set *w, fd_set *e, int64_t deadline);
long evs_epoll_wait(int epfd, struct epoll_event *ev, int max, int64_t deadline);
/* A filesystem made up in memory (statfs f_type): the kernel's pseudo
 * filesystems (/proc, /sys, cgroup, debugfs, tracefs, securityfs, bpf),
 * tmpfs, ramfs and devpts. Nothing on one waits for a disk, so a call
 * the no-wait forms refuse there (RWF_NOWAIT, RESOLVE_CACHED) is made on
 * the worker instead of the backend (rt/filerw.c, rt/fileops.c). */
static inline bool evs_fs_in_memory(unsigned long f_type)
{
	switch (f_type) {
	case PROC_SUPER_MAGIC: case SYSFS_MAGIC: case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC: case DEBUGFS_MAGIC: case TRACEFS_MAGIC:
	case SECURITYFS_MAGIC: case BPF_FS_MAGIC: case TMPFS_MAGIC: case RAMFS_MAGIC:
	case DEVPTS_SUPER_MAGIC:
		return true;
	default:
		return false;
	}
}
#endif
