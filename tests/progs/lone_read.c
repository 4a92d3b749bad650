/* lone_read DIR: a single-threaded program whose file reads miss the page
 * cache (pages evicted, and an O_DIRECT read) then lists its own fds and
 * counts its threads, as a child of CPython's test_pass_fds_redirected
 * does. Natively: its own fds and 1 thread. Under the shim the reads must
 * not bring in the runtime (its workers' fds, its monitor thread). */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIZE (4 << 20)

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	char path[4096];
	snprintf(path, sizeof(path), "%s/lone.dat", argv[1]);
	char *buf = aligned_alloc(4096, SIZE);
	if (!buf)
		return 1;
	for (int i = 0; i < SIZE; i++)
		buf[i] = (char)(i * 13 + (i >> 12));
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, SIZE) != SIZE || fsync(fd))
		return 1;
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	memset(buf, 0, SIZE);
	ssize_t got = pread(fd, buf, SIZE, 0);
	uint64_t h = 1469598103934665603ULL;
	for (ssize_t i = 0; i < got; i++)
		h = (h ^ (unsigned char)buf[i]) * 1099511628211ULL;
	printf("read %zd bytes, checksum %016llx\n", got, (unsigned long long)h);
	close(fd);
	int dfd = open(path, O_RDONLY | O_DIRECT);
	if (dfd >= 0) {
		printf("direct read: %zd\n", pread(dfd, buf, 65536, 65536));
		close(dfd);
	} else {
		printf("direct read: no O_DIRECT here\n");
	}
	unlink(path);
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return 1;
	struct dirent *e;
	printf("fds:");
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			printf(" %s", e->d_name);
	printf("\n");
	closedir(d);
	FILE *st = fopen("/proc/self/status", "r");
	char line[256];
	while (st && fgets(line, sizeof(line), st))
		if (!strncmp(line, "Threads:", 8))
			fputs(line, stdout);
	if (st)
		fclose(st);
	return 0;
}
