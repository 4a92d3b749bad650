/* File reads: 4 threads each read a 16 MiB file in 64 KiB pread chunks,
 * 3 passes. "uncached": the file's pages are dropped (posix_fadvise
 * DONTNEED) before every pass; "direct": opened with O_DIRECT (every read
 * goes to the device). Prints MB/s.   file_read DIR [uncached|direct] */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SIZE (16 << 20)
#define CHUNK (64 << 10)
#define THREADS 4
#define PASSES 3

static char path[4096];
static int uncached, direct;

static void *reader(void *x)
{
	(void)x;
	int fd = open(path, O_RDONLY | (direct ? O_DIRECT : 0));
	void *buf = NULL;
	if (fd < 0 || posix_memalign(&buf, 4096, CHUNK))
		abort();
	for (int p = 0; p < PASSES; p++) {
		if (uncached)
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		for (off_t off = 0; off < SIZE; off += CHUNK)
			if (pread(fd, buf, CHUNK, off) != CHUNK)
				abort();
	}
	free(buf);
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	snprintf(path, sizeof(path), "%s/file_read.dat", argc > 1 ? argv[1] : "/tmp");
	uncached = argc > 2 && !strcmp(argv[2], "uncached");
	direct = argc > 2 && !strcmp(argv[2], "direct");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char *b = calloc(1, SIZE);
	if (write(fd, b, SIZE) != SIZE)
		return 1;
	fsync(fd);
	close(fd);
	pthread_t t[THREADS];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, reader, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("mb_per_s %.0f\n", (double)SIZE * THREADS * PASSES / s / 1e6);
	unlink(path);
	return 0;
}
