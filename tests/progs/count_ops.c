/* A known number of each operation, for the statistics: argv[1] threads,
 * each sleeping argv[2] times for 1 ms with nanosleep and calling
 * clock_nanosleep on the process CPU clock once (a call the shim passes
 * to the kernel: one fallback each). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int rounds;

static void *run(void *p)
{
	struct timespec ms = { 0, 1000000 }, tiny = { 0, 1000 };
	for (int i = 0; i < rounds; i++)
		nanosleep(&ms, NULL);
	clock_nanosleep(CLOCK_PROCESS_CPUTIME_ID, 0, &tiny, NULL);
	return p;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4;
	rounds = argc > 2 ? atoi(argv[2]) : 10;
	pthread_t t[64];
	if (n > 64)
		n = 64;
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, run, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("%d threads x %d sleeps\n", n, rounds);
	return 0;
}
