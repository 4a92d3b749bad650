/* pshared_cond: process-shared condition variables (with process-shared
 * mutexes) in shared memory, waited on by many threads, as yadifad's
 * thread pools do (yadifa 2.6: every mutex and condition of its pools is
 * process-shared; 140 threads natively). glibc keeps such a condition's
 * protocol, and its wait is glibc's own futex wait in the kernel: a task
 * that made it held its worker, the monitor added workers up to its bound,
 * and the tasks past that bound never ran (yadifad never answered).
 *   - herd: WAITERS threads wait for a flag; main sees them all waiting,
 *     sets it and broadcasts: every one wakes;
 *   - turns: two threads take turns ROUNDS times through one condition
 *     and pthread_cond_signal, on an error-checking mutex (its owner must
 *     still be the waiter after each wait: each unlock succeeds);
 *   - timed: a timed wait nobody signals ends with ETIMEDOUT;
 *   - fork: a forked child signals the parent's waiting thread.
 * Prints results only, the same natively and under the shim. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WAITERS 64
#define ROUNDS 2000

struct shared {
	pthread_mutex_t m;
	pthread_cond_t c;
	int go, waiting, woke, turn, unlock_errors, child_done;
};
static struct shared *s;

static void make(int type)
{
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_settype(&ma, type);
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&s->m, &ma);
	pthread_cond_init(&s->c, &ca);
	s->go = s->waiting = s->woke = s->turn = s->unlock_errors = s->child_done = 0;
}

static void unlock(void)
{
	if (pthread_mutex_unlock(&s->m))
		s->unlock_errors++;  /* not under the lock: the count says enough */
}

static void *herd_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&s->m);
	s->waiting++;
	while (!s->go)
		pthread_cond_wait(&s->c, &s->m);
	s->woke++;
	unlock();
	return NULL;
}

static void herd(void)
{
	pthread_t t[WAITERS];
	make(PTHREAD_MUTEX_NORMAL);
	for (int i = 0; i < WAITERS; i++)
		if (pthread_create(&t[i], NULL, herd_waiter, NULL)) {
			printf("herd: pthread_create failed\n");
			exit(1);
		}
	for (int all = 0; !all;) {
		pthread_mutex_lock(&s->m);
		all = s->waiting == WAITERS;
		pthread_mutex_unlock(&s->m);
		if (!all)
			usleep(1000);
	}
	pthread_mutex_lock(&s->m);
	s->go = 1;
	pthread_cond_broadcast(&s->c);
	pthread_mutex_unlock(&s->m);
	for (int i = 0; i < WAITERS; i++)
		pthread_join(t[i], NULL);
	printf("herd: %d threads waited, %d woke, unlock errors %d\n", s->waiting, s->woke, s->unlock_errors);
}

static void *taker(void *arg)
{
	int me = (int)(long)arg;
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&s->m);
		while (s->turn != me)
			pthread_cond_wait(&s->c, &s->m);
		s->turn = !me;
		pthread_cond_signal(&s->c);
		unlock();
	}
	return NULL;
}

static void turns(void)
{
	pthread_t a, b;
	make(PTHREAD_MUTEX_ERRORCHECK);
	pthread_create(&a, NULL, taker, (void *)0L);
	pthread_create(&b, NULL, taker, (void *)1L);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("turns: %d rounds each on an error-checking mutex, unlock errors %d\n", ROUNDS, s->unlock_errors);
}

static void *timed_waiter(void *arg)
{
	struct timespec ts;
	(void)arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 30 * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->m);
	int r = 0;
	while (!s->go && r == 0)
		r = pthread_cond_timedwait(&s->c, &s->m, &ts);
	unlock();
	return (void *)(long)r;
}

static void timed(void)
{
	pthread_t t;
	void *r;
	make(PTHREAD_MUTEX_NORMAL);
	pthread_create(&t, NULL, timed_waiter, NULL);
	pthread_join(t, &r);
	printf("timed: 30 ms, nobody signals: %s\n", (long)r == ETIMEDOUT ? "ETIMEDOUT" : "something else");
}

static void *fork_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&s->m);
	s->waiting = 1;
	while (!s->child_done)
		pthread_cond_wait(&s->c, &s->m);
	unlock();
	return NULL;
}

static void forked(void)
{
	pthread_t t;
	make(PTHREAD_MUTEX_NORMAL);
	pthread_create(&t, NULL, fork_waiter, NULL);
	for (int w = 0; !w;) {
		pthread_mutex_lock(&s->m);
		w = s->waiting;
		pthread_mutex_unlock(&s->m);
		if (!w)
			usleep(1000);
	}
	pid_t pid = fork();
	if (pid == 0) {
		usleep(20000);
		pthread_mutex_lock(&s->m);
		s->child_done = 1;
		pthread_cond_signal(&s->c);
		pthread_mutex_unlock(&s->m);
		_exit(0);
	}
	pthread_join(t, NULL);
	int st;
	waitpid(pid, &st, 0);
	printf("fork: the child's signal woke the parent's waiter, child exit %d\n", WEXITSTATUS(st));
}

int main(void)
{
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return 1;
	setvbuf(stdout, NULL, _IONBF, 0);
	herd();
	turns();
	timed();
	forked();
	return 0;
}
