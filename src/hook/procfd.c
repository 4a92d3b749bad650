/* Listings of the process's own fd directory (/proc/self/fd and its other
 * names) leave out the runtime's own fds, as `close` and `dup2` on them
 * answer EBADF (differences.md): natively those numbers are not open, and
 * a program that closes every fd it lists (Chromium's crashpad before it
 * execs, CPython's _posixsubprocess in its child) logged "close: Bad file
 * descriptor" for each, or closed them. Three ways to list:
 * - a stream opened with opendir or fdopendir on such a directory is
 *   remembered until closedir; readdir and readdir_r skip the runtime's
 *   numbers on it;
 * - getdents64 (glibc's wrapper, or syscall() with SYS_getdents64 or
 *   SYS_getdents): the records the real call read are walked, and only
 *   when one names a runtime fd is the directory looked at (one readlink);
 *   if it is ours, those records are taken out of the caller's buffer. A
 *   read left empty that way is made again, so a directory with entries
 *   to come never reads as its end. Other listings cost the walk, a few
 *   nanoseconds a name, where an fstat costs a microsecond or more;
 * - scandir, scandir64, scandirat, scandirat64 (glibc's read with its own
 *   readdir, past the hook): the caller's filter is wrapped, so neither
 *   it nor the result sees them.
 * Not covered: getdirentries, a system call made without libc, and a
 * listing of this process from another one. */
#include "hook.h"
#include "../rt/fdtab.h"
#include "../lock.h"
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#define EVS_PROCFD_STREAMS 32

static DIR *streams[EVS_PROCFD_STREAMS];  /* under lock; NULL: free */
static int nstreams;                      /* atomic: slots in use, for the fast path */
static int lock;

/* Does path name this process's fd directory? /proc/self/fd,
 * /proc/thread-self/fd, /dev/fd, /proc/PID/fd and /proc/PID/task/TID/fd
 * for our own PID (any TID: they all list the same table). */
static bool own_fd_dir(const char *path)
{
	char p[64];
	size_t n = path ? strlen(path) : 0;
	if (n == 0 || n >= sizeof(p))
		return false;
	memcpy(p, path, n + 1);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = 0;
	if (!strcmp(p, "/proc/self/fd") || !strcmp(p, "/proc/thread-self/fd") || !strcmp(p, "/dev/fd"))
		return true;
	if (strncmp(p, "/proc/", 6))
		return false;
	char *end;
	long pid = strtol(p + 6, &end, 10);
	if (end == p + 6 || pid != (long)getpid())
		return false;
	if (!strcmp(end, "/fd"))
		return true;
	if (strncmp(end, "/task/", 6))
		return false;
	char *tend;
	strtol(end + 6, &tend, 10);
	return tend != end + 6 && !strcmp(tend, "/fd");
}

static void remember(DIR *d)
{
	evs_spin_lock(&lock);
	for (int i = 0; i < EVS_PROCFD_STREAMS; i++)
		if (!streams[i]) {
			streams[i] = d;
			__atomic_add_fetch(&nstreams, 1, __ATOMIC_RELEASE);
			break;
		}
	evs_spin_unlock(&lock);
}

static bool forget(DIR *d)
{
	bool was = false;
	evs_spin_lock(&lock);
	for (int i = 0; i < EVS_PROCFD_STREAMS; i++)
		if (streams[i] == d) {
			streams[i] = NULL;
			__atomic_sub_fetch(&nstreams, 1, __ATOMIC_RELEASE);
			was = true;
			break;
		}
	evs_spin_unlock(&lock);
	return was;
}

static bool listing_fds(DIR *d)
{
	if (!__atomic_load_n(&nstreams, __ATOMIC_ACQUIRE))
		return false;
	bool yes = false;
	evs_spin_lock(&lock);
	for (int i = 0; i < EVS_PROCFD_STREAMS && !yes; i++)
		yes = streams[i] == d;
	evs_spin_unlock(&lock);
	return yes;
}

/* An entry naming one of the runtime's fds. Most names are not numbers
 * (getdents64 on any directory comes here): those cost one comparison. */
static bool hidden(const char *name)
{
	long fd = 0;
	int i = 0;
	for (; name[i] >= '0' && name[i] <= '9' && i < 10; i++)
		fd = fd * 10 + (name[i] - '0');
	return i > 0 && !name[i] && fd <= 0x7fffffff && evs_fd_internal((int)fd);
}

EVS_HOOK DIR *opendir(const char *path)
{
	DIR *d = REAL(opendir)(path);
	if (d && own_fd_dir(path))
		remember(d);
	return d;
}

/* Is fd open on this process's fd directory? */
static bool fd_on_own_fd_dir(int fd)
{
	char link[32], target[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = 0;
	return own_fd_dir(target);
}

EVS_HOOK DIR *fdopendir(int fd)
{
	DIR *d = REAL(fdopendir)(fd);
	if (d && fd_on_own_fd_dir(fd))
		remember(d);
	return d;
}

EVS_HOOK int closedir(DIR *d)
{
	if (__atomic_load_n(&nstreams, __ATOMIC_ACQUIRE))
		forget(d);
	return REAL(closedir)(d);
}

EVS_HOOK struct dirent *readdir(DIR *d)
{
	struct dirent *e;
	bool filter = listing_fds(d);
	do
		e = REAL(readdir)(d);
	while (e && filter && hidden(e->d_name));
	return e;
}

EVS_HOOK struct dirent64 *readdir64(DIR *d)
{
	struct dirent64 *e;
	bool filter = listing_fds(d);
	do
		e = REAL(readdir64)(d);
	while (e && filter && hidden(e->d_name));
	return e;
}

EVS_HOOK int readdir_r(DIR *d, struct dirent *entry, struct dirent **result)
{
	bool filter = listing_fds(d);
	int r;
	do
		r = REAL(readdir_r)(d, entry, result);
	while (r == 0 && *result && filter && hidden((*result)->d_name));
	return r;
}

EVS_HOOK int readdir64_r(DIR *d, struct dirent64 *entry, struct dirent64 **result)
{
	bool filter = listing_fds(d);
	int r;
	do
		r = REAL(readdir64_r)(d, entry, result);
	while (r == 0 && *result && filter && hidden((*result)->d_name));
	return r;
}

/* The records of a getdents64 (a name at byte 19) or getdents (18) on fd,
 * r bytes in buf, without those naming the runtime's fds when fd is open
 * on this process's fd directory: the bytes kept. The directory is looked
 * at only when a record names one of those numbers. */
static long drop_records(int fd, char *buf, long r, size_t name_at)
{
	long out = 0;
	int own = -1;  /* not asked yet */
	for (long at = 0; at < r;) {
		unsigned short len;
		memcpy(&len, buf + at + offsetof(struct dirent64, d_reclen), sizeof(len));
		if (len <= name_at || len > r - at) {
			/* not the kernel's records: the rest left as it is */
			memmove(buf + out, buf + at, (size_t)(r - at));
			return out + r - at;
		}
		/* once fd is known not to be ours, the names are not looked at */
		bool drop = own != 0 && hidden(buf + at + name_at);
		if (drop && own < 0)
			own = fd_on_own_fd_dir(fd);
		if (!drop || !own) {
			if (out != at)
				memmove(buf + out, buf + at, len);
			out += len;
		}
		at += len;
	}
	return out;
}

/* n: SYS_getdents64 or SYS_getdents through the real syscall(), 0 for
 * glibc's getdents64. */
static long list_fds(long n, int fd, void *buf, size_t len)
{
	for (;;) {
		long r = n ? REAL(syscall)(n, fd, buf, len) : (long)REAL(getdents64)(fd, buf, len);
		if (r <= 0)
			return r;
		long kept = drop_records(fd, buf, r, n == SYS_getdents64 || !n ? 19 : 18);
		if (kept > 0)
			return kept;
	}
}

long evs_hook_getdents(long n, int fd, void *buf, size_t len)
{
	return list_fds(n, fd, buf, len);
}

EVS_HOOK ssize_t getdents64(int fd, void *buf, size_t len)
{
	return list_fds(0, fd, buf, len);
}

/* scandir and its kin: each call in progress holds a slot, and the filter
 * glibc is given is that slot's, which leaves the runtime's numbers out
 * (asking once whether the directory is ours, when one shows) and passes
 * the rest to the caller's filter. dirent and dirent64 are one layout
 * here (glibc makes scandir64 an alias of scandir). */
_Static_assert(sizeof(struct dirent) == sizeof(struct dirent64) &&
	       offsetof(struct dirent, d_name) == offsetof(struct dirent64, d_name),
	       "dirent and dirent64 differ");
typedef int (*scan_filter)(const struct dirent *);
typedef int (*scan_compar)(const struct dirent **, const struct dirent **);

#define EVS_PROCFD_SCANS 16

static struct scan {
	bool busy;            /* under lock */
	scan_filter filter;   /* the caller's, or NULL */
	int dfd;
	const char *path;
	int own;              /* the directory is ours: -1 not asked yet */
} scans[EVS_PROCFD_SCANS];

/* Does dfd + path name this process's fd directory? */
static bool names_own_fd_dir(int dfd, const char *path)
{
	if (path[0] == '/' && own_fd_dir(path))
		return true;
	int fd = REAL(openat)(dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool yes = fd_on_own_fd_dir(fd);
	REAL(close)(fd);
	return yes;
}

static int scan_keep(struct scan *s, const struct dirent *e)
{
	if (hidden(e->d_name)) {
		if (s->own < 0) {
			int saved = errno;
			s->own = names_own_fd_dir(s->dfd, s->path);
			errno = saved;
		}
		if (s->own)
			return 0;
	}
	return s->filter ? s->filter(e) : 1;
}

#define SCAN_FILTER(k) \
	static int scan_filter##k(const struct dirent *e) { return scan_keep(&scans[k], e); }
SCAN_FILTER(0) SCAN_FILTER(1) SCAN_FILTER(2) SCAN_FILTER(3)
SCAN_FILTER(4) SCAN_FILTER(5) SCAN_FILTER(6) SCAN_FILTER(7)
SCAN_FILTER(8) SCAN_FILTER(9) SCAN_FILTER(10) SCAN_FILTER(11)
SCAN_FILTER(12) SCAN_FILTER(13) SCAN_FILTER(14) SCAN_FILTER(15)
static const scan_filter scan_filters[EVS_PROCFD_SCANS] = {
	scan_filter0, scan_filter1, scan_filter2, scan_filter3,
	scan_filter4, scan_filter5, scan_filter6, scan_filter7,
	scan_filter8, scan_filter9, scan_filter10, scan_filter11,
	scan_filter12, scan_filter13, scan_filter14, scan_filter15,
};

static int take_scan(void)
{
	int k = -1;
	evs_spin_lock(&lock);
	for (int i = 0; i < EVS_PROCFD_SCANS && k < 0; i++)
		if (!scans[i].busy) {
			scans[i].busy = true;
			k = i;
		}
	evs_spin_unlock(&lock);
	return k;
}

enum scan_kind { SCANDIR, SCANDIR64, SCANDIRAT, SCANDIRAT64 };

static int real_scan(enum scan_kind kind, int dfd, const char *path, struct dirent ***list,
		     scan_filter filter, scan_compar compar)
{
	typedef struct dirent64 ***list64;
	typedef int (*filter64)(const struct dirent64 *);
	typedef int (*compar64)(const struct dirent64 **, const struct dirent64 **);
	switch (kind) {
	case SCANDIR: return REAL(scandir)(path, list, filter, compar);
	case SCANDIR64: return REAL(scandir64)(path, (list64)list, (filter64)filter, (compar64)compar);
	case SCANDIRAT: return REAL(scandirat)(dfd, path, list, filter, compar);
	default: return REAL(scandirat64)(dfd, path, (list64)list, (filter64)filter, (compar64)compar);
	}
}

static int scan(enum scan_kind kind, int dfd, const char *path, struct dirent ***list,
		scan_filter filter, scan_compar compar)
{
	int k = take_scan();
	if (k < 0) {
		/* every slot taken (16 listings at once): the runtime's
		 * numbers are taken out of the result; the caller's filter and
		 * compar saw them */
		int n = real_scan(kind, dfd, path, list, filter, compar);
		int saved = errno, kept = 0, own = -1;
		for (int i = 0; i < n; i++) {
			struct dirent *e = (*list)[i];
			bool drop = hidden(e->d_name);
			if (drop && own < 0)
				own = names_own_fd_dir(dfd, path);
			if (drop && own)
				free(e);
			else
				(*list)[kept++] = e;
		}
		errno = saved;
		return n < 0 ? n : kept;
	}
	struct scan *s = &scans[k];
	s->filter = filter;
	s->dfd = dfd;
	s->path = path;
	s->own = -1;
	int n = real_scan(kind, dfd, path, list, scan_filters[k], compar);
	evs_spin_lock(&lock);
	s->busy = false;
	evs_spin_unlock(&lock);
	return n;
}

EVS_HOOK int scandir(const char *path, struct dirent ***list, scan_filter filter, scan_compar compar)
{
	return scan(SCANDIR, AT_FDCWD, path, list, filter, compar);
}

EVS_HOOK int scandir64(const char *path, struct dirent64 ***list, int (*filter)(const struct dirent64 *),
		       int (*compar)(const struct dirent64 **, const struct dirent64 **))
{
	return scan(SCANDIR64, AT_FDCWD, path, (struct dirent ***)list, (scan_filter)filter,
		    (scan_compar)compar);
}

EVS_HOOK int scandirat(int dfd, const char *path, struct dirent ***list, scan_filter filter,
		       scan_compar compar)
{
	return scan(SCANDIRAT, dfd, path, list, filter, compar);
}

EVS_HOOK int scandirat64(int dfd, const char *path, struct dirent64 ***list,
			 int (*filter)(const struct dirent64 *),
			 int (*compar)(const struct dirent64 **, const struct dirent64 **))
{
	return scan(SCANDIRAT64, dfd, path, (struct dirent ***)list, (scan_filter)filter,
		    (scan_compar)compar);
}
