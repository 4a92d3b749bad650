/* Threads that compute while holding a robust (or priority-inheritance)
 * mutex, more of them than CPUs, in a program with __thread data. glibc
 * records such a mutex's owner as the kernel thread id in the locking
 * thread's descriptor, and lets only that id unlock it. A runtime that
 * hands a computing thread to another kernel thread (to spread work over
 * idle CPUs) while it holds one made its unlock fail with EPERM, and the
 * mutex stayed locked for good: the next locker waited for ever.
 *
 * A thread computes 50 ms without a lock (it takes the other CPU), then
 * each of 4 threads locks its own mutex, computes for 150 ms (by turns
 * with the others on one CPU, until the first thread is done and leaves
 * its CPU idle), unlocks, and tries it once more; main reports each
 * result; two rounds of each kind. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N 4

static __thread volatile long work;  /* the program's own TLS */
static pthread_mutex_t mtx[N];
static int rc[N][3];

/* Computes for about `secs`, mostly in the program's own code (a clock
 * read each 100,000 steps). */
static void compute(double secs);

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void compute(double secs)
{
	double t0 = now();
	do
		for (int k = 0; k < 100000; k++)
			work++;
	while (now() - t0 < secs);
}

static void *computer(void *arg)
{
	long i = (long)arg;
	rc[i][0] = pthread_mutex_lock(&mtx[i]);
	compute(0.15);
	rc[i][1] = pthread_mutex_unlock(&mtx[i]);
	rc[i][2] = pthread_mutex_trylock(&mtx[i]);
	if (rc[i][2] == 0)
		pthread_mutex_unlock(&mtx[i]);
	return NULL;
}

static void *plain(void *arg)
{
	(void)arg;
	compute(0.05);
	return NULL;
}

static void run(const char *name, int robust, int pi)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	if (robust)
		pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (pi)
		pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	for (int i = 0; i < N; i++)
		pthread_mutex_init(&mtx[i], &a);
	pthread_t t[N], p;
	pthread_create(&p, NULL, plain, NULL);
	for (long i = 0; i < N; i++)
		pthread_create(&t[i], NULL, computer, (void *)i);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	pthread_join(p, NULL);
	for (int i = 0; i < N; i++)
		printf("%s %d: lock %s, unlock after computing %s, trylock then %s\n", name, i,
		       strerror(rc[i][0]), strerror(rc[i][1]), strerror(rc[i][2]));
}

int main(void)
{
	alarm(20);
	for (int round = 0; round < 2; round++) {
		run("robust", 1, 0);
		run("priority inheritance", 0, 1);
	}
	return 0;
}
