/* A burst of threads that each use KIB KiB of stack, all alive at once,
 * then joined: prints the process's resident set afterwards (rss_mib),
 * and a checksum that must match natively.
 *   stack_trim N KIB park|compute
 * park: the deep frame sleeps 20 ms (the task switches while deep);
 * compute: it never waits (the task never switches until it ends). The
 * threads wait on a barrier so that all of them are alive at once. */
#include "common.h"
#include <pthread.h>

static long kib;
static int park;
static pthread_barrier_t bar;

static long resident_mib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = atol(line + 6);
	if (f)
		fclose(f);
	return kb / 1024;
}

__attribute__((noinline)) static long deep(long n)
{
	volatile char *a = __builtin_alloca((size_t)n << 10);
	memset((char *)a, (int)n, (size_t)n << 10);
	if (park)
		sleep_ms(20);
	return a[(n << 10) - 1] + a[0];
}

static void *run(void *p)
{
	pthread_barrier_wait(&bar);
	return (void *)(deep(kib) + (long)p);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200;
	kib = argc > 2 ? atol(argv[2]) : 512;
	park = argc > 3 && !strcmp(argv[3], "park");
	pthread_t t[1024];
	if (n > 1024)
		n = 1024;
	pthread_barrier_init(&bar, NULL, (unsigned)n);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, run, (void *)(long)i);
	long sum = 0;
	for (int i = 0; i < n; i++) {
		void *r;
		pthread_join(t[i], &r);
		sum += (long)r;
	}
	printf("sum %ld\nrss_mib %ld\n", sum, resident_mib());
	return 0;
}
