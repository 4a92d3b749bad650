/* yield_turns with 4 KiB of __thread data that both threads touch: the
 * cost of switching tasks when TLS has to be swapped. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static __thread char big[4096];
static long turns;
static volatile int turn;

static void *player(void *x)
{
	int me = (int)(long)x;
	for (long i = 0; i < turns; i++) {
		while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != me)
			sched_yield();
		big[i % sizeof(big)]++;
		__atomic_store_n(&turn, !me, __ATOMIC_RELEASE);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	turns = argc > 1 ? atol(argv[1]) : 200000;
	pthread_t a, b;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_create(&a, NULL, player, (void *)0);
	pthread_create(&b, NULL, player, (void *)1);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
	printf("handoff_ns %.1f\n", ns / (2.0 * turns));
	return 0;
}
