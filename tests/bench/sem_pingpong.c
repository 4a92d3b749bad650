/* Two threads hand a token back and forth with semaphores: N round trips,
 * nanoseconds per hand-off. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static sem_t a, b;
static long n;

static void *other(void *x)
{
	(void)x;
	for (long i = 0; i < n; i++) {
		sem_wait(&a);
		sem_post(&b);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	n = argc > 1 ? atol(argv[1]) : 100000;
	sem_init(&a, 0, 0);
	sem_init(&b, 0, 0);
	pthread_t t;
	pthread_create(&t, NULL, other, NULL);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		sem_post(&a);
		sem_wait(&b);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_join(t, NULL);
	printf("handoff_ns %.1f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / (2.0 * n));
	return 0;
}
