/* Opens and stats whose lookup the dentry cache cannot answer with
 * RESOLVE_CACHED but that need no disk: a path through a regular file
 * (ENOTDIR; Apache probes DOCROOT/file/.htaccess on every request), and
 * paths in /proc and /sys (CPython's close_fds opens /proc/self/fd), each
 * from a thread. Printed: each call's result (an fd as "fd", errors by
 * name) and, for the opened ones, a few bytes that do not change between
 * runs. Argument: a directory for the regular file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[400];

static const char *res(long r)
{
	static char b[64];
	if (r >= 0)
		return "ok";
	snprintf(b, sizeof(b), "-1 %s", errno == ENOTDIR ? "ENOTDIR" : errno == ENOENT ? "ENOENT" :
		 errno == EACCES ? "EACCES" : strerror(errno));
	return b;
}

static void try_open(const char *path, int flags, const char *show)
{
	int fd = open(path, flags);
	printf("open %s: %s", show, res(fd));
	if (fd >= 0) {
		char b[16] = "";
		if (!(flags & O_DIRECTORY) && read(fd, b, 5) > 0)
			printf(", starts \"%.5s\"", b);
		close(fd);
	}
	struct stat st;
	int r = stat(path, &st);
	printf("; stat: %s", res(r));
	if (r == 0)
		printf(", %s", S_ISDIR(st.st_mode) ? "directory" : S_ISREG(st.st_mode) ? "regular" : "other");
	printf("\n");
}

static void *run(void *x)
{
	(void)x;
	char p[512];
	snprintf(p, sizeof(p), "%s/file.html", dir);
	FILE *f = fopen(p, "w");
	fputs("hello\n", f);
	fclose(f);
	for (int round = 0; round < 3; round++) {
		snprintf(p, sizeof(p), "%s/file.html/.htaccess", dir);
		try_open(p, O_RDONLY, "DIR/file.html/.htaccess");
		snprintf(p, sizeof(p), "%s/file.html/a/b", dir);
		try_open(p, O_RDONLY, "DIR/file.html/a/b");
		try_open("/proc/self/status", O_RDONLY, "/proc/self/status");
		try_open("/proc/self/fd", O_RDONLY | O_DIRECTORY, "/proc/self/fd");
		try_open("/proc/self/nonexistent", O_RDONLY, "/proc/self/nonexistent");
		try_open("/proc/version", O_RDONLY, "/proc/version");
		try_open("/sys/kernel", O_RDONLY | O_DIRECTORY, "/sys/kernel");
	}
	DIR *d = opendir("/proc/self/fd");
	printf("opendir /proc/self/fd: %s\n", d ? "ok" : "failed");
	if (d)
		closedir(d);
	return NULL;
}

int main(int argc, char **argv)
{
	snprintf(dir, sizeof(dir), "%s", argc > 1 ? argv[1] : "/tmp");
	pthread_t t;
	pthread_create(&t, NULL, run, NULL);
	pthread_join(t, NULL);
	return 0;
}
