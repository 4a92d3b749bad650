/* Producer/consumer over a bounded queue (mutex + two condition
 * variables), a mutex held across a sleep while others wait, timed waits
 * that are signalled in time, and a semaphore hand-off. Exact counts. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PRODUCERS 8
#define CONSUMERS 6
#define ITEMS 5000
#define CAP 16

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static long q[CAP];
static int head, count, producers_left = PRODUCERS;
static long long consumed_sum;
static long consumed_n;

static void *producer(void *x)
{
	long id = (long)x;
	for (long i = 0; i < ITEMS; i++) {
		pthread_mutex_lock(&m);
		while (count == CAP)
			pthread_cond_wait(&not_full, &m);
		q[(head + count++) % CAP] = id * ITEMS + i;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&m);
	}
	pthread_mutex_lock(&m);
	producers_left--;
	pthread_cond_broadcast(&not_empty);
	pthread_mutex_unlock(&m);
	return NULL;
}

static void *consumer(void *x)
{
	(void)x;
	for (;;) {
		pthread_mutex_lock(&m);
		while (count == 0 && producers_left > 0)
			pthread_cond_wait(&not_empty, &m);
		if (count == 0) {
			pthread_mutex_unlock(&m);
			return NULL;
		}
		long v = q[head];
		head = (head + 1) % CAP;
		count--;
		consumed_sum += v;
		consumed_n++;
		pthread_cond_signal(&not_full);
		pthread_mutex_unlock(&m);
	}
}

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static int order[4], norder;

static void *waiter(void *x)
{
	pthread_mutex_lock(&held);
	order[norder++] = (int)(long)x;
	pthread_mutex_unlock(&held);
	return NULL;
}

static pthread_mutex_t tm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tc = PTHREAD_COND_INITIALIZER;
static int flag;

static void *signaller(void *x)
{
	(void)x;
	usleep(30000);
	pthread_mutex_lock(&tm);
	flag = 1;
	pthread_cond_signal(&tc);
	pthread_mutex_unlock(&tm);
	return NULL;
}

static sem_t ping, pong;
static void *ponger(void *x)
{
	(void)x;
	for (int i = 0; i < 10000; i++) {
		sem_wait(&ping);
		sem_post(&pong);
	}
	return NULL;
}

int main(void)
{
	pthread_t p[PRODUCERS], c[CONSUMERS];
	for (long i = 0; i < CONSUMERS; i++)
		pthread_create(&c[i], NULL, consumer, NULL);
	for (long i = 0; i < PRODUCERS; i++)
		pthread_create(&p[i], NULL, producer, (void *)i);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(p[i], NULL);
	for (int i = 0; i < CONSUMERS; i++)
		pthread_join(c[i], NULL);
	long long n = (long long)PRODUCERS * ITEMS;
	printf("consumed %ld items, sum %lld (expected %lld)\n", consumed_n, consumed_sum, n * (n - 1) / 2);

	/* main holds a mutex across a sleep while three threads wait for it */
	pthread_t w[3];
	pthread_mutex_lock(&held);
	for (long i = 0; i < 3; i++)
		pthread_create(&w[i], NULL, waiter, (void *)(i + 1));
	usleep(50000);
	order[norder++] = 0;
	pthread_mutex_unlock(&held);
	for (int i = 0; i < 3; i++)
		pthread_join(w[i], NULL);
	printf("mutex held across a sleep: main first (%d), then %d waiters got it\n", order[0], norder - 1);

	/* a timed wait that is signalled before its deadline */
	pthread_t s;
	pthread_create(&s, NULL, signaller, NULL);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&tm);
	int r = 0;
	while (!flag && r == 0)
		r = pthread_cond_timedwait(&tc, &tm, &ts);
	pthread_mutex_unlock(&tm);
	pthread_join(s, NULL);
	printf("timedwait signalled in time: %s, flag %d\n", r == 0 ? "0" : strerror(r), flag);

	sem_init(&ping, 0, 0);
	sem_init(&pong, 0, 0);
	pthread_create(&s, NULL, ponger, NULL);
	for (int i = 0; i < 10000; i++) {
		sem_post(&ping);
		sem_wait(&pong);
	}
	pthread_join(s, NULL);
	int v1, v2;
	sem_getvalue(&ping, &v1);
	sem_getvalue(&pong, &v2);
	printf("semaphore ping-pong 10000 rounds, values left %d %d\n", v1, v2);
	return 0;
}
