/* File writes: 4 threads each append 16 MiB to a file of their own in
 * 4 KiB write() calls (a logger's pattern), then fsync it; with `pwrite`,
 * 4 KiB pwrite() calls at increasing offsets instead. Prints MB/s.
 *   file_write DIR [pwrite] */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SIZE (16 << 20)
#define CHUNK 4096
#define THREADS 4

static const char *dir;
static int positional;

static void *writer(void *x)
{
	char path[4096], buf[CHUNK];
	snprintf(path, sizeof(path), "%s/file_write.%ld", dir, (long)x);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | (positional ? 0 : O_APPEND), 0644);
	memset(buf, 'w', sizeof(buf));
	for (int off = 0; off < SIZE; off += CHUNK)
		if (fd < 0 || (positional ? pwrite(fd, buf, CHUNK, off) : write(fd, buf, CHUNK)) != CHUNK)
			abort();
	fsync(fd);
	close(fd);
	unlink(path);
	return NULL;
}

int main(int argc, char **argv)
{
	dir = argc > 1 ? argv[1] : "/tmp";
	positional = argc > 2 && !strcmp(argv[2], "pwrite");
	pthread_t t[THREADS];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, writer, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("mb_per_s %.0f\n", (double)SIZE * THREADS / s / 1e6);
	return 0;
}
