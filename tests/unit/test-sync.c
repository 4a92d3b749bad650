/* The synchronization objects used by threads the runtime does not own
 * (no tasks here: plain kernel threads, so waits go through the parking
 * lot's futex path): a mutex-protected counter and a condition-variable
 * hand-off count exactly, a semaphore bounds a section. */
#include "sync/sync.h"
#include <pthread.h>
#include <stdio.h>

#define THREADS 4
#define ITERS 100000

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static sem_t s;
static long counter, inside, max_inside;
static int turn;

static void *hammer(void *x)
{
	(void)x;
	for (int i = 0; i < ITERS; i++) {
		evs_mutex_lock(&m, INT64_MAX, 0);
		counter++;
		evs_mutex_unlock(&m);
		if (i % 100 == 0) {
			evs_sem_wait(&s, INT64_MAX, 0);
			long n = __atomic_add_fetch(&inside, 1, __ATOMIC_SEQ_CST);
			if (n > max_inside)
				max_inside = n;
			__atomic_sub_fetch(&inside, 1, __ATOMIC_SEQ_CST);
			evs_sem_post(&s);
		}
	}
	return NULL;
}

static void *player(void *x)
{
	int me = (int)(long)x;
	for (int i = 0; i < 20000; i++) {
		evs_mutex_lock(&m, INT64_MAX, 0);
		while (turn != me)
			evs_cond_wait(&c, &m, INT64_MAX);
		turn = !me;
		evs_cond_wake(&c, 0);
		evs_mutex_unlock(&m);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	evs_sem_init(&s, 2);
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, hammer, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_create(&t[0], NULL, player, (void *)0);
	pthread_create(&t[1], NULL, player, (void *)1);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	printf("threads: counter %ld of %d, semaphore section max %ld of 2, cond ping-pong done\n",
	       counter, THREADS * ITERS, max_inside);
	return counter == THREADS * ITERS && max_inside <= 2 ? 0 : 1;
}
