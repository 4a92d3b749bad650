/* procfd_list: a threaded program lists its open fds in /proc/self/fd
 * (opendir + readdir, fdopendir + readdir_r, /proc/PID/fd, /dev/fd,
 * /proc/thread-self/fd; getdents64 through glibc's wrapper and through
 * syscall(), with a large buffer and with one of two records; scandir,
 * scandir64 and scandirat with and without a filter) and closes every one
 * it found but stdio and the listing's own, as daemons and crash handlers
 * do before an exec (with readdir, and with syscall(SYS_getdents64) as
 * CPython's _posixsubprocess does in its child). Natively each close
 * succeeds. Under the shim the runtime's own fds (epoll sets, eventfds,
 * near the fd limit) were listed, and close answered EBADF for them
 * (Chromium's crashpad logged "close: Bad file descriptor"). Prints the
 * numbers each listing showed, what a scandir filter was shown, and the
 * closes that failed. */
/* readdir_r is deprecated, and still what some programs call */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int p[2];

static void *reader(void *x)
{
	char c;
	(void)x;
	return (void *)(long)read(p[0], &c, 1);
}

static void show(const char *how, DIR *d, int use_r)
{
	printf("%s:", how);
	for (;;) {
		struct dirent *e, ent;
		if (use_r) {
			if (readdir_r(d, &ent, &e) != 0 || !e)
				break;
		} else if (!(e = readdir(d))) {
			break;
		}
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd != dirfd(d))
			printf(" %d", fd);
	}
	printf("\n");
}

/* getdents64's records, as the kernel writes them */
struct rec {
	unsigned long long ino;
	long long off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* The fds a getdents64 listing of dir shows (but dir's own), into fds;
 * how many, or -1 on an error. */
static int list_getdents(int dir, int use_syscall, size_t bufsize, int *fds, int max)
{
	static char buf[4096] __attribute__((aligned(8)));
	int n = 0;
	for (;;) {
		long r = use_syscall ? syscall(SYS_getdents64, dir, buf, bufsize)
				     : (long)getdents64(dir, buf, bufsize);
		if (r < 0)
			return -1;
		if (r == 0)
			return n;
		for (long at = 0; at < r;) {
			struct rec *e = (struct rec *)(buf + at);
			at += e->reclen;
			if (e->name[0] == '.')
				continue;
			int fd = atoi(e->name);
			if (fd != dir && n < max)
				fds[n++] = fd;
		}
	}
}

static void show_getdents(const char *how, const char *path, int use_syscall, size_t bufsize)
{
	int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fds[64];
	int n = list_getdents(dir, use_syscall, bufsize, fds, 64);
	printf("%s (%zu-byte buffer):", how, bufsize);
	if (n < 0)
		printf(" error %s", strerror(errno));
	for (int i = 0; i < n; i++)
		printf(" %d", fds[i]);
	printf("\n");
	close(dir);
}

static int filter_calls;

static int not_dot(const struct dirent *e)
{
	filter_calls++;
	return e->d_name[0] != '.';
}

static int not_dot64(const struct dirent64 *e)
{
	filter_calls++;
	return e->d_name[0] != '.';
}

static int by_number(const struct dirent **a, const struct dirent **b)
{
	return atoi((*a)->d_name) - atoi((*b)->d_name);
}

static int by_number64(const struct dirent64 **a, const struct dirent64 **b)
{
	return atoi((*a)->d_name) - atoi((*b)->d_name);
}

/* scandir's own fd is the lowest free one: left out of what it shows. */
static int lowest_free(void)
{
	int fd = dup(0);
	close(fd);
	return fd;
}

static void show_names(const char *how, int n, char **names, int skip)
{
	printf("%s:", how);
	if (n < 0)
		printf(" error %s", strerror(errno));
	for (int i = 0; i < n; i++) {
		if (names[i][0] != '.' && atoi(names[i]) != skip)
			printf(" %s", names[i]);
	}
	printf(" (filter saw %d)\n", filter_calls);
	filter_calls = 0;
}

static void show_scandir(void)
{
	struct dirent **l;
	struct dirent64 **l64;
	char *names[64];
	int skip = lowest_free();
	int n = scandir("/proc/self/fd", &l, not_dot, by_number);
	for (int i = 0; i < n && i < 64; i++)
		names[i] = l[i]->d_name;
	show_names("scandir /proc/self/fd", n < 64 ? n : 64, names, skip);
	for (int i = 0; i < n; i++)
		free(l[i]);
	free(l);
	n = scandir("/dev/fd/", &l, NULL, alphasort);
	for (int i = 0; i < n && i < 64; i++)
		names[i] = l[i]->d_name;
	show_names("scandir /dev/fd/, no filter", n < 64 ? n : 64, names, skip);
	for (int i = 0; i < n; i++)
		free(l[i]);
	free(l);
	n = scandir64("/proc/thread-self/fd", &l64, not_dot64, by_number64);
	for (int i = 0; i < n && i < 64; i++)
		names[i] = l64[i]->d_name;
	show_names("scandir64 /proc/thread-self/fd", n < 64 ? n : 64, names, skip);
	for (int i = 0; i < n; i++)
		free(l64[i]);
	free(l64);
	int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	skip = lowest_free();
	n = scandirat(proc, "self/fd", &l, not_dot, by_number);
	for (int i = 0; i < n && i < 64; i++)
		names[i] = l[i]->d_name;
	show_names("scandirat /proc, self/fd", n < 64 ? n : 64, names, skip);
	for (int i = 0; i < n; i++)
		free(l[i]);
	free(l);
	close(proc);
}

int main(void)
{
	pthread_t t;
	if (pipe(p) || pthread_create(&t, NULL, reader, NULL))
		return 1;
	usleep(20000);  /* the runtime has started: its fds are open */
	char path[64];
	DIR *d = opendir("/proc/self/fd");
	show("opendir /proc/self/fd", d, 0);
	closedir(d);
	snprintf(path, sizeof(path), "/proc/%d/fd/", (int)getpid());
	d = opendir(path);
	show("opendir /proc/PID/fd/", d, 0);
	closedir(d);
	d = opendir("/dev/fd");
	show("opendir /dev/fd", d, 0);
	closedir(d);
	d = opendir("/proc/thread-self/fd");
	show("opendir /proc/thread-self/fd", d, 0);
	closedir(d);
	d = fdopendir(open("/proc/self/fd", O_RDONLY | O_DIRECTORY));
	show("fdopendir + readdir_r", d, 1);
	closedir(d);
	for (int sys = 0; sys <= 1; sys++) {
		const char *how = sys ? "syscall(SYS_getdents64)" : "getdents64";
		char what[64];
		snprintf(what, sizeof(what), "%s /proc/self/fd", how);
		show_getdents(what, "/proc/self/fd", sys, 4096);
		show_getdents(what, "/proc/self/fd", sys, 64);
		snprintf(what, sizeof(what), "%s /proc/PID/fd", how);
		show_getdents(what, path, sys, 4096);
		snprintf(what, sizeof(what), "%s /dev/fd", how);
		show_getdents(what, "/dev/fd", sys, 64);
		snprintf(what, sizeof(what), "%s /proc/thread-self/fd", how);
		show_getdents(what, "/proc/thread-self/fd", sys, 4096);
	}
	show_scandir();
	/* close what was listed, but stdio and our pipe */
	d = opendir("/proc/self/fd");
	int failed = 0, closed = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd <= 2 || fd == dirfd(d) || fd == p[0] || fd == p[1])
			continue;
		if (close(fd) == 0)
			closed++;
		else
			failed++;
	}
	closedir(d);
	printf("closed %d, failed %d\n", closed, failed);
	/* again with syscall(SYS_getdents64), as CPython's child does */
	int more = open("/dev/null", O_RDONLY), fds[64];
	int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int n = list_getdents(dir, 1, 4096, fds, 64);
	closed = failed = 0;
	for (int i = 0; i < n; i++) {
		if (fds[i] <= 2 || fds[i] == p[0] || fds[i] == p[1])
			continue;
		if (close(fds[i]) == 0)
			closed++;
		else
			failed++;
	}
	close(dir);
	printf("getdents64: %d listed, closed %d (the /dev/null one: %s), failed %d\n", n, closed,
	       fcntl(more, F_GETFD) < 0 ? "closed" : "open", failed);
	write(p[1], "x", 1);
	void *r;
	pthread_join(t, &r);
	printf("reader: %ld\n", (long)r);
	return 0;
}
