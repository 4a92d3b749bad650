/* Two threads take two mutexes in opposite orders (a barrier makes sure
 * each holds its first), and main joins one of them: a deadlock, forever.
 * Prints "started" first. The test bounds it with timeout(1). */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both;

static void *ab(void *p)
{
	pthread_mutex_lock(&a);
	pthread_barrier_wait(&both);
	pthread_mutex_lock(&b);
	return p;
}

static void *ba(void *p)
{
	pthread_mutex_lock(&b);
	pthread_barrier_wait(&both);
	pthread_mutex_lock(&a);
	return p;
}

int main(void)
{
	pthread_t x, y;
	pthread_barrier_init(&both, NULL, 2);
	pthread_create(&x, NULL, ab, NULL);
	pthread_create(&y, NULL, ba, NULL);
	printf("started\n");
	fflush(stdout);
	pthread_join(x, NULL);
	printf("not reached\n");
	return 0;
}
