/* pthread keys with destructors, per-thread values across sleeps, key
 * deletion, and errno kept per thread across a blocking call. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define N 64
static pthread_key_t k1, k2;
static int destroyed1, destroyed2, again;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int bad_values, bad_errno;

static void d1(void *v) { __atomic_fetch_add(&destroyed1, 1, __ATOMIC_RELAXED); free(v); }
static void d2(void *v)
{
	/* Setting a value from a destructor makes glibc call it again in
	 * the next round (up to PTHREAD_DESTRUCTOR_ITERATIONS). */
	intptr_t n = (intptr_t)v;
	__atomic_fetch_add(&destroyed2, 1, __ATOMIC_RELAXED);
	if (n < 3)
		pthread_setspecific(k2, (void *)(n + 1));
	else
		__atomic_fetch_add(&again, 1, __ATOMIC_RELAXED);
}

static void *work(void *arg)
{
	intptr_t id = (intptr_t)arg;
	int *mine = malloc(sizeof(int));
	*mine = (int)id;
	pthread_setspecific(k1, mine);
	pthread_setspecific(k2, (void *)1);
	for (int i = 0; i < 5; i++) {
		errno = (int)(100 + id);
		usleep(1000 * (id % 7));
		if (errno != 100 + id)
			__atomic_fetch_add(&bad_errno, 1, __ATOMIC_RELAXED);
		int *v = pthread_getspecific(k1);
		if (!v || *v != id)
			__atomic_fetch_add(&bad_values, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

int main(void)
{
	pthread_t th[N];
	pthread_key_create(&k1, d1);
	pthread_key_create(&k2, d2);
	printf("main sees no value: %s\n", pthread_getspecific(k1) == NULL ? "yes" : "no");
	for (intptr_t i = 0; i < N; i++)
		pthread_create(&th[i], NULL, work, (void *)i);
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	printf("threads %d, wrong values %d, errno lost %d\n", N, bad_values, bad_errno);
	printf("destructor 1 ran %d times, destructor 2 ran %d times, re-armed to the end %d\n",
	       destroyed1, destroyed2, again);

	pthread_key_t k3;
	pthread_key_create(&k3, NULL);
	pthread_setspecific(k3, (void *)77);
	pthread_key_delete(k3);
	pthread_key_t k4;
	pthread_key_create(&k4, NULL);
	printf("new key starts empty: %s\n", pthread_getspecific(k4) == NULL ? "yes" : "no");
	printf("delete a deleted key: %d\n", pthread_key_delete(k3) != 0 || k3 == k4);
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
	return 0;
}
