/* Create and join N threads one after another: nanoseconds per pair.
 *   spawn_join [N [KIB]]
 * KIB: each thread first writes that many KiB of its stack, as a
 * connection handler reading into a stack buffer does (default 0). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long kib;

static void *nothing(void *x) { return x; }

static void *touch(void *x)
{
	char *buf = __builtin_alloca((size_t)kib << 10);
	memset(buf, 1, (size_t)kib << 10);
	__asm__ volatile("" : : "r"(buf) : "memory");
	return x;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	kib = argc > 2 ? atol(argv[2]) : 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		pthread_t t;
		pthread_create(&t, NULL, kib ? touch : nothing, NULL);
		pthread_join(t, NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("spawn_join_ns %.0f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n);
	return 0;
}
