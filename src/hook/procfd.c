/* Listings of the process's own fd directory (/proc/self/fd and its other
 * names) leave out the runtime's own fds, as `close` and `dup2` on them
 * answer EBADF (differences.md): natively those numbers are not open, and
 * a program that closes every fd it lists (Chromium's crashpad before it
 * execs) logged "close: Bad file descriptor" for each. A stream opened
 * with opendir or fdopendir on such a directory is remembered until
 * closedir; readdir and readdir_r skip the runtime's numbers on it. Not
 * covered: getdents64 made directly, scandir (glibc's calls its readdir
 * inside libc), and a listing of this process from another one. */
#include "hook.h"
#include "../rt/fdtab.h"
#include "../lock.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* An entry naming one of the runtime's fds. */
static bool hidden(const char *name)
{
	char *end;
	long fd = strtol(name, &end, 10);
	return end != name && !*end && fd >= 0 && fd <= 0x7fffffff && evs_fd_internal((int)fd);
}

EVS_HOOK DIR *opendir(const char *path)
{
	DIR *d = REAL(opendir)(path);
	if (d && own_fd_dir(path))
		remember(d);
	return d;
}

EVS_HOOK DIR *fdopendir(int fd)
{
	DIR *d = REAL(fdopendir)(fd);
	if (!d)
		return d;
	char link[32], target[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = 0;
		if (own_fd_dir(target))
			remember(d);
	}
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
