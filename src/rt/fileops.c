/* Opening, syncing and looking up files from a task, without the worker
 * waiting for the disk.
 *
 * open: a path lookup reads directories from disk when they are not
 * cached. Fast path: openat2 with RESOLVE_CACHED, which completes only
 * when every component is in the dentry cache (one system call, as the
 * plain open). Otherwise (EAGAIN), and always for O_CREAT, O_TRUNC and
 * O_TMPFILE (which RESOLVE_CACHED refuses), the file backend opens it
 * while the task parks. What the fast path cannot avoid: the open itself,
 * after the lookup, runs on the worker (a FIFO waiting for its other end,
 * a network filesystem revalidating): it is made at the runtime's one
 * site for such calls, which the monitor hands off (rt/handoff.c) when
 * the worker has other work waiting (docs/differences.md).
 *
 * stat, lstat, fstatat, statx by path: fast path an O_PATH open with
 * RESOLVE_CACHED, the stat of that fd, its close (three cheap calls, no
 * disk); otherwise the backend. The same for the pre-2.33 __xstat
 * family. fstat (an fd already open: the inode is in memory) is not
 * interposed.
 *
 * fsync, fdatasync: always the backend (they wait for the device). */
#include "../evs.h"
#include "fdio.h"
#include "fileio.h"
#include "sched.h"
#include "signal.h"
#include "tls.h"
#include "../libc/sys.h"
#include "../arch/window.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static int no_openat2;

/* openat2 with RESOLVE_CACHED: the fd, -EAGAIN when it would have to go
 * to the disk (or cannot say), or the kernel's final answer. */
static long open_cached(int dirfd, const char *path, int flags)
{
	if (__atomic_load_n(&no_openat2, __ATOMIC_RELAXED))
		return -EAGAIN;
	struct open_how how = { .flags = (uint64_t)(unsigned)flags, .resolve = RESOLVE_CACHED };
	/* the open itself may wait (a FIFO for its other end): through the
	 * site the monitor may hand off (rt/handoff.c), which a signal for
	 * the task ends with EINTR (rt/signal.c): its handler runs, and the
	 * open is made again unless one asked for no restarts, as natively */
	long r;
	while ((r = evs_offable_syscall(SYS_openat2, dirfd, (long)path, (long)&how, sizeof(how), 0,
					0)) == -EINTR) {
		/* An O_PATH open (stat's, a lookup's) never waits: it goes on */
		bool waits = !(flags & O_PATH);
		struct evs_task *t = evs_current();
		if (waits && t && evs_task_cancel_due(t))
			return -ECANCELED;  /* open is a cancellation point */
		int ran = evs_sig_run();
		/* Nothing ran here: the kernel's own EINTR (a handler without
		 * SA_RESTART ran on the spot, before the runtime routes
		 * signals): the program's, as natively */
		if (waits && (!(ran & EVS_SIG_RAN) || (ran & EVS_SIG_NORESTART)))
			return -EINTR;
	}
	if (r == -ENOSYS || r == -E2BIG)
		__atomic_store_n(&no_openat2, 1, __ATOMIC_RELAXED);
	/* EINVAL: flags openat2 is stricter about than open (unknown bits);
	 * EMFILE/ENFILE matter only for the extra fd of the stat path; the
	 * backend's openat gives the real answer to all of them. */
	if (r == -ENOSYS || r == -E2BIG || r == -EINVAL || r == -EMFILE || r == -ENFILE)
		return -EAGAIN;
	return r;
}

/* When the cached lookup said EAGAIN, can the worker still answer without
 * a disk? Two cases every web server and language runtime meets:
 *   - a component before the last is not a directory
 *     ("DOCROOT/file.html/.htaccess", Apache on every request): natively
 *     a quick ENOTDIR, which RESOLVE_CACHED refuses to give;
 *   - the path's directory is on a filesystem that lives in memory
 *     (/proc, /sys, tmpfs, cgroups: RESOLVE_CACHED refuses /proc/self and
 *     most of /proc and /sys): the plain call cannot wait for a disk.
 * The parent (or, for a parent it cannot open from the cache either, the
 * grandparent: /proc/self/fd) is opened O_PATH from the cache and looked
 * at. LOCAL_NO: go to the backend as before. Getting it wrong costs a
 * stall of the worker (the monitor's spares cover that), never a wrong
 * answer: the plain call gives the kernel's own. */
enum local { LOCAL_NO, LOCAL_NOTDIR, LOCAL_MEMFS };

static enum local lookup_local(int dirfd, const char *path)
{
	char dir[512];
	size_t end = strlen(path);
	for (int up = 0; up < 2; up++) {
		while (end > 1 && path[end - 1] == '/')
			end--;
		while (end > 0 && path[end - 1] != '/')
			end--;  /* dir is path[0, end): "" for a name in dirfd */
		if (end >= sizeof(dir))
			return LOCAL_NO;
		memcpy(dir, path, end);
		dir[end] = 0;
		if (!end)
			strcpy(dir, ".");
		long fd = open_cached(dirfd, dir, O_PATH | O_CLOEXEC);
		if (fd == -EAGAIN && end > 1) {
			end--;  /* the slash: look one level up */
			continue;
		}
		if (fd == -ENOTDIR)
			return LOCAL_NOTDIR;  /* dir ends in '/': what it names is no directory */
		if (fd < 0)
			return LOCAL_NO;
		struct statx x;
		struct statfs fs;
		enum local r = LOCAL_NO;
		if (evs_sys6(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_TYPE, &x, 0) == 0 &&
		    !S_ISDIR(x.stx_mode))
			r = LOCAL_NOTDIR;  /* a name after it, at least */
		else if (evs_sys3(SYS_fstatfs, fd, &fs, 0) == 0 && evs_fs_in_memory((unsigned long)fs.f_type))
			r = LOCAL_MEMFS;
		evs_sys3(SYS_close, fd, 0, 0);
		return r;
	}
	return LOCAL_NO;
}

/* Run op on the backend. A path inside a swapped TLS block is copied to
 * the heap first: the backend reads it while other tasks run. */
static long backend_path(struct evs_fop *op)
{
	char *copy = NULL;
	if (op->path && evs_tls_overlaps(op->path, strlen(op->path) + 1)) {
		if (!(copy = strdup(op->path)))
			return -ENOMEM;
		op->path = copy;
	}
	long r = evs_fileio_run(op, 0);
	free(copy);
	return r;
}

long evs_open(int dirfd, const char *path, int flags, mode_t mode)
{
	long r = -EAGAIN;
	if (!(flags & (O_CREAT | O_TRUNC | __O_TMPFILE)) && path) {
		r = open_cached(dirfd, path, flags);
		if (r >= 0)
			evs_stat_add(EVS_ST_open_fast, 1);
	}
	if (r == -EAGAIN && !(flags & (O_CREAT | O_TRUNC | __O_TMPFILE)) && path) {
		enum local l = lookup_local(dirfd, path);
		if (l == LOCAL_NOTDIR)
			r = -ENOTDIR;
		else if (l == LOCAL_MEMFS)
			r = evs_sys6(SYS_openat, dirfd, path, flags, 0, 0, 0);
		if (l != LOCAL_NO)
			evs_stat_add(EVS_ST_open_local, 1);
	}
	if (r == -EAGAIN) {
		struct evs_fop op = { .kind = EVS_FOP_OPEN, .fd = dirfd, .path = path,
				      .flags = flags,
				      .mode = (flags & (O_CREAT | __O_TMPFILE)) ? mode : 0 };
		r = backend_path(&op);
	}
	if (r >= 0)  /* a new file behind this number: look at it afresh */
		evs_fd_opened((int)r, flags);
	return r;
}

long evs_fsync(int fd, int data_only)
{
	struct evs_fd *f = evs_fd_get(fd);
	struct evs_fop op = { .kind = EVS_FOP_FSYNC, .fd = fd, .flags = data_only };
	if (f && (f->kind == EVS_FD_SOCKET || f->kind == EVS_FD_PIPE))  /* EINVAL at once */
		return evs_fileio_now(&op);
	return evs_fileio_run(&op, 0);
}

/* --- stat by path ----------------------------------------------------------- */

static void stx_to_stat(const struct statx *x, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(x->stx_dev_major, x->stx_dev_minor);
	st->st_ino = x->stx_ino;
	st->st_nlink = x->stx_nlink;
	st->st_mode = x->stx_mode;
	st->st_uid = x->stx_uid;
	st->st_gid = x->stx_gid;
	st->st_rdev = makedev(x->stx_rdev_major, x->stx_rdev_minor);
	st->st_size = (off_t)x->stx_size;
	st->st_blksize = x->stx_blksize;
	st->st_blocks = (blkcnt_t)x->stx_blocks;
	st->st_atim.tv_sec = x->stx_atime.tv_sec;
	st->st_atim.tv_nsec = x->stx_atime.tv_nsec;
	st->st_mtim.tv_sec = x->stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = x->stx_mtime.tv_nsec;
	st->st_ctim.tv_sec = x->stx_ctime.tv_sec;
	st->st_ctim.tv_nsec = x->stx_ctime.tv_nsec;
}

/* One lookup: statx(dirfd, path, flags, mask) into *x. Fast path from the
 * dentry cache, else the backend. The result lands in our own stack
 * buffer first (never in the program's, which may be in TLS). */
static long statx_path(int dirfd, const char *path, int flags, unsigned mask, struct statx *x)
{
	int oflags = O_PATH | O_CLOEXEC;
	if (flags & AT_SYMLINK_NOFOLLOW)
		oflags |= O_NOFOLLOW;
	long fd = -EAGAIN;
	if (!(flags & AT_EMPTY_PATH) && path && *path)
		fd = open_cached(dirfd, path, oflags);
	if (fd >= 0) {
		long r = evs_sys6(SYS_statx, fd, "", AT_EMPTY_PATH | (flags & AT_STATX_SYNC_TYPE),
				  mask, x, 0);
		evs_sys3(SYS_close, fd, 0, 0);
		evs_stat_add(EVS_ST_open_fast, 1);
		return r;
	}
	if (fd != -EAGAIN)
		return fd;  /* ENOENT, ENOTDIR, EACCES, ELOOP: the lookup's answer */
	if (!(flags & AT_EMPTY_PATH) && path && *path) {
		enum local l = lookup_local(dirfd, path);
		if (l != LOCAL_NO)
			evs_stat_add(EVS_ST_open_local, 1);
		if (l == LOCAL_NOTDIR)
			return -ENOTDIR;
		if (l == LOCAL_MEMFS) {
			long r = evs_sys6(SYS_statx, dirfd, path, flags, mask, x, 0);
			return r;
		}
	}
	struct evs_fop op = { .kind = EVS_FOP_STATX, .fd = dirfd, .path = path, .flags = flags,
			      .mode = mask, .stx = x };
	return backend_path(&op);
}

long evs_stat(int dirfd, const char *path, struct stat *st, int flags)
{
	/* Flags it does not know (the kernel's EINVAL), a NULL path (EFAULT),
	 * or an fstat in disguise (no lookup): the plain call, at once. */
	if (!path || (flags & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH)) ||
	    (!*path && (flags & AT_EMPTY_PATH))) {
		long r = evs_sys6(SYS_newfstatat, dirfd, path, st, flags, 0, 0);
		if (r == 0 && path && !*path)  /* an fstat: what the fd is, for free */
			evs_fd_stat_seen(dirfd, st);
		return r;
	}
	struct statx x;
	long r = statx_path(dirfd, path, flags, STATX_BASIC_STATS, &x);
	if (r < 0)
		return r;
	stx_to_stat(&x, st);
	return 0;
}

long evs_statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *out)
{
	struct statx x;
	long r = statx_path(dirfd, path, flags, mask, &x);
	if (r == 0)
		memcpy(out, &x, sizeof(x));
	return r;
}
