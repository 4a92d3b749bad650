/* procfd_list: a threaded program lists its open fds in /proc/self/fd
 * (opendir + readdir, fdopendir + readdir_r, /proc/PID/fd, /dev/fd) and
 * closes every one it found but stdio and the listing's own, as daemons
 * and crash handlers do before an exec. Natively each close succeeds.
 * Under the shim the runtime's own fds (epoll sets, eventfds, near the fd
 * limit) were listed, and close answered EBADF for them (Chromium's
 * crashpad logged "close: Bad file descriptor"). Prints the numbers each
 * listing showed and the closes that failed. */
/* readdir_r is deprecated, and still what some programs call */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	d = fdopendir(open("/proc/self/fd", O_RDONLY | O_DIRECTORY));
	show("fdopendir + readdir_r", d, 1);
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
	write(p[1], "x", 1);
	void *r;
	pthread_join(t, &r);
	printf("reader: %ld\n", (long)r);
	return 0;
}
