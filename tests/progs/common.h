/* What several test programs need alike (each program is one .c file, so
 * these are static inline; tests/bench/runstat.c uses it too). */
#ifndef TESTS_PROGS_COMMON_H
#define TESTS_PROGS_COMMON_H
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Kernel threads of process pid (0: this one), from /proc; -1 when its
 * status cannot be read. */
static inline int threads_of(int pid)
{
	char path[64], line[256];
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	FILE *f = fopen(path, "r");
	int n = -1;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Threads:", 8))
			n = atoi(line + 8);
	if (f)
		fclose(f);
	return n;
}

/* FNV-1a over n bytes, going on from h (FNV_START for a new sum). */
#define FNV_START 1469598103934665603ULL
static inline uint64_t fnv(const unsigned char *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

/* Sleeps n ms, all of them (nanosleep resumed after a signal). */
static inline void sleep_ms(int n)
{
	struct timespec ts = { n / 1000, (n % 1000) * 1000000L };
	while (nanosleep(&ts, &ts))
		;
}

/* A thread that sleeps 2 ms at a time and counts the sleeps that ended
 * while `watch` was set, until `stop`: whether the other threads went on
 * while one of them was blocked in a call. */
struct ticker {
	volatile int watch, stop, ticks;
};

static inline void *ticker_main(void *arg)
{
	struct ticker *t = arg;
	while (!t->stop) {
		sleep_ms(2);
		if (t->watch)
			t->ticks++;
	}
	return NULL;
}

/* One call's result as the probe programs print it: the name padded to
 * width, then the value, or -1 and errno's name; flushed at once, so the
 * lines keep their order with a child's or another thread's. */
static inline void show_result(const char *what, long r, int width)
{
	if (r < 0)
		printf("%-*s -1 %s\n", width, what, strerrorname_np(errno));
	else
		printf("%-*s %ld\n", width, what, r);
	fflush(stdout);
}
#endif
