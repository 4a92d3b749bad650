/* Opening, syncing and looking up files: thin translations of
 * rt/fileops.c, which says how the worker never waits for the disk. */
#include "fdio.h"
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

static int open_task(int dirfd, const char *path, int flags, mode_t mode)
{
	long r;
	/* a cancellation point (an open of a FIFO that waits: rt/fileops.c) */
	while ((r = evs_open(dirfd, path, flags, mode)) == -ECANCELED)
		evs_task_testcancel();
	return (int)evs_ret(r);
}

static int stat_task(int dirfd, const char *path, struct stat *st, int flags)
{
	return (int)evs_ret(evs_stat(dirfd, path, st, flags));
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | __O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

EVS_HOOK int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	if (!evs_current())
		return REAL(open)(path, flags, mode);
	return open_task(AT_FDCWD, path, flags, mode);
}

EVS_HOOK int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	if (!evs_current())
		return REAL(openat)(dirfd, path, flags, mode);
	return open_task(dirfd, path, flags, mode);
}

EVS_HOOK int creat(const char *path, mode_t mode)
{
	if (!evs_current())
		return REAL(creat)(path, mode);
	return open_task(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

/* The _FORTIFY_SOURCE forms: O_CREAT without a mode is glibc's to report. */
EVS_HOOK int __open_2(const char *path, int flags)
{
	if (!evs_current() || (flags & (O_CREAT | __O_TMPFILE)))
		return REAL(__open_2)(path, flags);
	return open_task(AT_FDCWD, path, flags, 0);
}

EVS_HOOK int __openat_2(int dirfd, const char *path, int flags)
{
	if (!evs_current() || (flags & (O_CREAT | __O_TMPFILE)))
		return REAL(__openat_2)(dirfd, path, flags);
	return open_task(dirfd, path, flags, 0);
}

EVS_HOOK_ALIAS(open64, open);
EVS_HOOK_ALIAS(openat64, openat);
EVS_HOOK_ALIAS(creat64, creat);
EVS_HOOK_ALIAS(__open64_2, __open_2);
EVS_HOOK_ALIAS(__openat64_2, __openat_2);

/* --- fsync ---------------------------------------------------------------- */

EVS_HOOK int fsync(int fd)
{
	if (!evs_current())
		return REAL(fsync)(fd);
	return (int)evs_ret(evs_fsync(fd, 0));
}

EVS_HOOK int fdatasync(int fd)
{
	if (!evs_current())
		return REAL(fdatasync)(fd);
	return (int)evs_ret(evs_fsync(fd, 1));
}

/* --- stat by path ----------------------------------------------------------- */

EVS_HOOK int stat(const char *path, struct stat *st)
{
	if (!evs_current())
		return REAL(stat)(path, st);
	return stat_task(AT_FDCWD, path, st, AT_NO_AUTOMOUNT);
}

EVS_HOOK int stat64(const char *path, struct stat64 *st)
{
	if (!evs_current())
		return REAL(stat64)(path, st);
	return stat_task(AT_FDCWD, path, (struct stat *)st, AT_NO_AUTOMOUNT);
}

EVS_HOOK int lstat(const char *path, struct stat *st)
{
	if (!evs_current())
		return REAL(lstat)(path, st);
	return stat_task(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT);
}

EVS_HOOK int lstat64(const char *path, struct stat64 *st)
{
	if (!evs_current())
		return REAL(lstat64)(path, st);
	return stat_task(AT_FDCWD, path, (struct stat *)st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT);
}

/* fstat: the plain call (glibc's is this same fstatat), which also tells
 * the fd table what a file the runtime opened is (rt/fdtab.h). */
EVS_HOOK int fstat(int fd, struct stat *st)
{
	if (!evs_current())
		return REAL(fstat)(fd, st);
	return stat_task(fd, "", st, AT_EMPTY_PATH);
}

EVS_HOOK int fstat64(int fd, struct stat64 *st)
{
	if (!evs_current())
		return REAL(fstat64)(fd, st);
	return stat_task(fd, "", (struct stat *)st, AT_EMPTY_PATH);
}

EVS_HOOK int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	if (!evs_current())
		return REAL(fstatat)(dirfd, path, st, flags);
	return stat_task(dirfd, path, st, flags);
}

EVS_HOOK int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	if (!evs_current())
		return REAL(fstatat64)(dirfd, path, st, flags);
	return stat_task(dirfd, path, (struct stat *)st, flags);
}

EVS_HOOK int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *out)
{
	const char *p = path;
	__asm__("" : "+r"(p));  /* declared nonnull; a program may pass NULL all the same */
	if (!evs_current() || !p || (!*p && (flags & AT_EMPTY_PATH)))
		return REAL(statx)(dirfd, path, flags, mask, out);
	return (int)evs_ret(evs_statx(dirfd, path, flags, mask, out));
}

/* The pre-2.33 glibc entry points (__xstat and friends), which binaries
 * built against an older glibc still call. Version 0 (_STAT_VER_KERNEL)
 * and 1 (_STAT_VER_LINUX) mean today's struct stat on x86-64; any other
 * version is glibc's to refuse. */
#define XSTAT_OK(v) ((v) == 0 || (v) == 1)

EVS_HOOK int __xstat(int ver, const char *path, struct stat *st)
{
	if (!evs_current() || !XSTAT_OK(ver))
		return REAL(__xstat)(ver, path, st);
	return stat_task(AT_FDCWD, path, st, AT_NO_AUTOMOUNT);
}

EVS_HOOK int __xstat64(int ver, const char *path, struct stat64 *st)
{
	if (!evs_current() || !XSTAT_OK(ver))
		return REAL(__xstat64)(ver, path, st);
	return stat_task(AT_FDCWD, path, (struct stat *)st, AT_NO_AUTOMOUNT);
}

EVS_HOOK int __lxstat(int ver, const char *path, struct stat *st)
{
	if (!evs_current() || !XSTAT_OK(ver))
		return REAL(__lxstat)(ver, path, st);
	return stat_task(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT);
}

EVS_HOOK int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	if (!evs_current() || !XSTAT_OK(ver))
		return REAL(__lxstat64)(ver, path, st);
	return stat_task(AT_FDCWD, path, (struct stat *)st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT);
}

EVS_HOOK int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	if (!evs_current() || !XSTAT_OK(ver))
		return REAL(__fxstatat)(ver, dirfd, path, st, flags);
	return stat_task(dirfd, path, st, flags);
}

EVS_HOOK int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags)
{
	if (!evs_current() || !XSTAT_OK(ver))
		return REAL(__fxstatat64)(ver, dirfd, path, st, flags);
	return stat_task(dirfd, path, (struct stat *)st, flags);
}
