/* Asynchronous cancellation (PTHREAD_CANCEL_ASYNCHRONOUS), as uWSGI uses
 * it for a graceful reload: its threads wait in pthread_mutex_lock (not a
 * cancellation point) and the signal handler cancels and joins them.
 *   1. threads with the asynchronous type wait for a mutex main holds
 *      (a plain one, and a robust process-shared one as uWSGI's
 *      --thunder-lock, which the shim leaves to glibc): cancelled there,
 *      their cleanup handlers run, the join answers PTHREAD_CANCELED
 *      (and none of them got the lock);
 *   2. a cancel that came while cancellation was disabled is acted on by
 *      pthread_setcancelstate(ENABLE) itself, with the asynchronous type;
 *   3. so by pthread_setcanceltype(ASYNCHRONOUS), with a cancel pending;
 *   4. a thread of the asynchronous type cancelled in pthread_cond_wait
 *      holds the mutex again when its cleanup handler runs (error-checking
 *      mutex: its unlock there answers 0, not EPERM). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

#define N 4

static pthread_mutex_t plain = PTHREAD_MUTEX_INITIALIZER, robust, *m;
static sem_t ready;
static int go, cleanups, got_lock, past_enable, past_settype;
/* Not a cancellation point (sem_wait is one). */
static void wait_go(void)
{
	while (!__atomic_load_n(&go, __ATOMIC_SEQ_CST))
		sched_yield();
}
static void cleanup(void *a) { (void)a; __atomic_add_fetch(&cleanups, 1, __ATOMIC_SEQ_CST); }

static void *locker(void *a)
{
	(void)a;
	pthread_cleanup_push(cleanup, NULL);
	sem_post(&ready);
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	pthread_mutex_lock(m);  /* main holds it until every locker is joined */
	__atomic_add_fetch(&got_lock, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(m);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *enabler(void *a)
{
	(void)a;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	pthread_cleanup_push(cleanup, NULL);
	sem_post(&ready);
	wait_go();
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	past_enable = 1;
	pthread_cleanup_pop(0);
	return (void *)1;
}

static void *typer(void *a)
{
	(void)a;
	pthread_cleanup_push(cleanup, NULL);
	sem_post(&ready);
	wait_go();  /* deferred: a cancel pending here is not acted on */
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	past_settype = 1;
	pthread_cleanup_pop(0);
	return (void *)1;
}

static pthread_mutex_t em;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int unlock_in_cleanup = -1;
static pid_t waiter_tid;

/* The state letter of this process's thread tid, 0 if /proc has no such
 * thread (a task under the shim: its number is no kernel thread's). */
static char state_of(pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}
static void unlock_em(void *a) { (void)a; unlock_in_cleanup = pthread_mutex_unlock(&em); }

static void *waiter(void *a)
{
	(void)a;
	pthread_mutex_lock(&em);
	pthread_cleanup_push(unlock_em, NULL);
	waiter_tid = gettid();
	sem_post(&ready);
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	for (;;)
		pthread_cond_wait(&c, &em);
	pthread_cleanup_pop(0);
	return NULL;
}

static const char *what(void *r) { return r == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "a value"; }

static void lockers(pthread_mutex_t *mx, const char *kind)
{
	pthread_t t[N];
	void *r;
	int canceled = 0;
	m = mx;
	cleanups = got_lock = 0;
	pthread_mutex_lock(m);
	for (int i = 0; i < N; i++)
		pthread_create(&t[i], NULL, locker, NULL);
	for (int i = 0; i < N; i++)
		while (sem_wait(&ready))
			;
	for (int i = 0; i < N; i++)
		pthread_cancel(t[i]);
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], &r);
		canceled += r == PTHREAD_CANCELED;
	}
	pthread_mutex_unlock(m);
	printf("%d lockers cancelled in pthread_mutex_lock (%s): %d PTHREAD_CANCELED, cleanups %d, got the lock %d\n",
	       N, kind, canceled, cleanups, got_lock);
}

int main(void)
{
	pthread_t t[1];
	void *r;
	sem_init(&ready, 0, 0);

	lockers(&plain, "plain");
	pthread_mutexattr_t ra;
	pthread_mutexattr_init(&ra);
	pthread_mutexattr_setrobust(&ra, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_setpshared(&ra, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&robust, &ra);
	lockers(&robust, "robust, process-shared");

	cleanups = 0;
	pthread_create(&t[0], NULL, enabler, NULL);
	while (sem_wait(&ready))
		;
	pthread_cancel(t[0]);
	__atomic_store_n(&go, 1, __ATOMIC_SEQ_CST);
	pthread_join(t[0], &r);
	/* not the join's value: glibc 2.36 leaves it as the descriptor had it */
	printf("cancel acted on by setcancelstate(ENABLE): cleanups %d, went past it %d\n", cleanups,
	       past_enable);
	go = 0;

	cleanups = 0;
	pthread_create(&t[0], NULL, typer, NULL);
	while (sem_wait(&ready))
		;
	pthread_cancel(t[0]);
	__atomic_store_n(&go, 1, __ATOMIC_SEQ_CST);
	pthread_join(t[0], &r);
	printf("cancel acted on by setcanceltype(ASYNCHRONOUS): %s, cleanups %d, went past it %d\n",
	       what(r), cleanups, past_settype);

	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&em, &ma);
	pthread_create(&t[0], NULL, waiter, NULL);
	while (sem_wait(&ready))
		;
	pthread_mutex_lock(&em);  /* the waiter let go of it in pthread_cond_wait */
	/* Natively, glibc's wait has a window between the release and its
	 * futex wait where an asynchronous cancel unwinds without the mutex:
	 * cancel once it sleeps (the only sleep after the release). */
	for (int i = 0; i < 10000 && state_of(waiter_tid) == 'R'; i++)
		sched_yield();
	pthread_cancel(t[0]);
	/* Time for its relock to find the mutex held, the case that matters
	 * (the output is the same either way). */
	sleep_ms(20);
	pthread_mutex_unlock(&em);
	pthread_join(t[0], &r);
	printf("cancelled in pthread_cond_wait: %s, unlock in its cleanup: %s\n", what(r),
	       unlock_in_cleanup == 0 ? "0" : strerror(unlock_in_cleanup));
	return 0;
}
