/* Two threads hand the CPU to each other with sched_yield, N turns each:
 * nanoseconds per hand-off. Run natively on one CPU (taskset) it measures
 * a kernel thread switch; under evshim on one worker, a task switch
 * through the public API (park, run queue, switch). */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long turns;
static volatile int turn;
#ifdef TOUCH_TLS_BYTES  /* tls4k_turns.c */
static __thread char tls_data[TOUCH_TLS_BYTES];
#define TOUCH(i) (tls_data[(i) % TOUCH_TLS_BYTES]++)
#else
#define TOUCH(i) ((void)0)
#endif

static void *player(void *x)
{
	int me = (int)(long)x;
	for (long i = 0; i < turns; i++) {
		while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != me)
			sched_yield();
		TOUCH(i);
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
