/* Join values, detach, tryjoin/timedjoin, join errors, pthread_exit from
 * nested calls with cleanup handlers, cancellation of a sleeping thread. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int cleanup_log[8], ncleanup;
static void note(void *a) { cleanup_log[ncleanup++] = (int)(intptr_t)a; }

/* GCC cannot see that pthread_exit ends the recursion. */
#pragma GCC diagnostic ignored "-Winfinite-recursion"
static volatile int stop_at;

static void deep(int depth)
{
	if (depth == stop_at)
		pthread_exit((void *)(intptr_t)4242);
	pthread_cleanup_push(note, (void *)(intptr_t)depth);
	deep(depth - 1);
	pthread_cleanup_pop(0);
}

static void *nested(void *a) { (void)a; deep(3); return NULL; }
static void *value(void *a) { return (void *)((intptr_t)a * 7); }
static void *slow(void *a) { (void)a; usleep(200000); return (void *)5; }
static volatile int detached_ran;
static void *detached(void *a) { (void)a; detached_ran = 1; return NULL; }
static volatile int sleeper_ready;
static void *sleeper(void *a)
{
	(void)a;
	pthread_cleanup_push(note, (void *)99);
	sleeper_ready = 1;  /* its handler is pushed: a cancel from now on runs it */
	for (;;)
		sleep(10);
	pthread_cleanup_pop(0);
	return NULL;
}
static void *popper(void *a)
{
	(void)a;
	pthread_cleanup_push(note, (void *)7);
	pthread_cleanup_pop(1);  /* runs the handler without exiting */
	return (void *)8;
}

int main(void)
{
	pthread_t t;
	void *r;

	for (int i = 1; i <= 3; i++) {
		pthread_create(&t, NULL, value, (void *)(intptr_t)i);
		pthread_join(t, &r);
		printf("join value %d -> %ld\n", i, (long)(intptr_t)r);
	}

	pthread_create(&t, NULL, nested, NULL);
	pthread_join(t, &r);
	printf("pthread_exit from depth 3 -> %ld, cleanups:", (long)(intptr_t)r);
	for (int i = 0; i < ncleanup; i++)
		printf(" %d", cleanup_log[i]);
	printf("\n");

	ncleanup = 0;
	pthread_create(&t, NULL, popper, NULL);
	pthread_join(t, &r);
	printf("cleanup_pop(1) ran %d handler(s) (%d), returned %ld\n", ncleanup,
	       cleanup_log[0], (long)(intptr_t)r);

	pthread_create(&t, NULL, slow, NULL);
	printf("tryjoin on a running thread: %s\n", strerror(pthread_tryjoin_np(t, &r)));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 20 * 1000000;
	if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
	printf("timedjoin 20ms on a 200ms thread: %s\n", strerror(pthread_timedjoin_np(t, &r, &ts)));
	int jr = pthread_join(t, &r);
	printf("join after timeout: %d, value %ld\n", jr, (long)(intptr_t)r);

	printf("join self: %s\n", strerror(pthread_join(pthread_self(), &r)));

	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_create(&t, &a, detached, NULL);
	pthread_attr_destroy(&a);
	while (!detached_ran)
		usleep(1000);
	printf("detached thread ran\n");

	pthread_create(&t, NULL, slow, NULL);
	printf("detach a running thread: %d\n", pthread_detach(t));

	ncleanup = 0;
	pthread_create(&t, NULL, sleeper, NULL);
	while (!sleeper_ready)
		usleep(1000);
	usleep(20000);  /* asleep by now, most likely; either way the cancel runs 99 */
	printf("cancel: %d\n", pthread_cancel(t));
	pthread_join(t, &r);
	printf("cancelled thread: %s, cleanup %d\n",
	       r == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "other", ncleanup ? cleanup_log[0] : -1);
	usleep(250000);  /* let the detached slow thread end */
	return 0;
}
