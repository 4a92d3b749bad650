/* pshared_rwlock: process-shared rwlocks in shared memory, which stay
 * glibc's (words and protocol: another process may hold them), contended
 * by many threads. glibc's rdlock and wrlock wait in the kernel, and a
 * task that made that wait held its worker: the monitor added workers up
 * to its bound and the tasks past them never ran. And glibc records a
 * writer by its kernel thread id, so two tasks of one worker were one
 * thread to it: the second's lock said EDEADLK instead of waiting.
 *   - other: a forked child holds the write lock while THREADS threads
 *     (half readers, half writers) wait for it; main sees them all there
 *     and tells the child to let go; then each takes it ROUNDS times;
 *   - sleepy: THREADS threads take it in turns and sleep while they hold
 *     it (a task on the same worker wants it meanwhile): every call 0;
 *   - timed: the child holds it; each thread's clockwrlock, clockrdlock
 *     and timedwrlock of 30 ms say ETIMEDOUT;
 *   - self: the writer's own wrlock and rdlock say EDEADLK, its
 *     trywrlock EBUSY; its unlock then lets a reader in.
 * An argument names the one case to run. Prints results only, the same natively and under the shim. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define THREADS 40
#define ROUNDS 50

struct shared {
	pthread_rwlock_t l;
	int arrived, go, child_holds, counter, errors, timeouts, other;
};
static struct shared *s;

static void make(void)
{
	pthread_rwlockattr_t a;
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_rwlock_init(&s->l, &a);
	s->arrived = s->go = s->child_holds = s->counter = s->errors = s->timeouts = s->other = 0;
}

static void bad(int r)
{
	if (r)
		__atomic_add_fetch(&s->errors, 1, __ATOMIC_RELAXED);
}

/* A child that holds the write lock until main sets s->go. */
static pid_t holder(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		alarm(30);  /* its own bound, too: it holds the output pipe */
		if (pthread_rwlock_wrlock(&s->l))
			_exit(2);
		__atomic_store_n(&s->child_holds, 1, __ATOMIC_RELEASE);
		while (!__atomic_load_n(&s->go, __ATOMIC_ACQUIRE))
			usleep(1000);
		_exit(pthread_rwlock_unlock(&s->l) ? 3 : 0);
	}
	while (!__atomic_load_n(&s->child_holds, __ATOMIC_ACQUIRE))
		usleep(1000);
	return pid;
}

static int child_exit(pid_t pid)
{
	int st;
	__atomic_store_n(&s->go, 1, __ATOMIC_RELEASE);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void run(void *(*fn)(void *))
{
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, fn, (void *)(long)i)) {
			printf("pthread_create failed\n");
			exit(1);
		}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
}

static void *other_thread(void *arg)
{
	int writer = (long)arg % 2;
	__atomic_add_fetch(&s->arrived, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < ROUNDS; i++) {
		if (writer) {
			bad(pthread_rwlock_wrlock(&s->l));
			s->counter++;
		} else {
			bad(pthread_rwlock_rdlock(&s->l));
		}
		bad(pthread_rwlock_unlock(&s->l));
	}
	return NULL;
}

static pid_t waited_child;

static void *other_main(void *arg)
{
	(void)arg;
	/* all of them started (and most waiting for the child) */
	while (__atomic_load_n(&s->arrived, __ATOMIC_RELAXED) < THREADS)
		usleep(1000);
	usleep(20000);
	s->other = child_exit(waited_child);
	return NULL;
}

static void other(void)
{
	pthread_t m;
	make();
	waited_child = holder();
	pthread_create(&m, NULL, other_main, NULL);
	run(other_thread);
	pthread_join(m, NULL);
	printf("other: a child held it, %d threads waited, counter %d, errors %d, child exit %d\n",
	       s->arrived, s->counter, s->errors, s->other);
}

static void *sleepy_thread(void *arg)
{
	int writer = (long)arg % 2;
	for (int i = 0; i < 5; i++) {
		bad(writer ? pthread_rwlock_wrlock(&s->l) : pthread_rwlock_rdlock(&s->l));
		usleep(1000);
		if (writer)
			s->counter++;
		bad(pthread_rwlock_unlock(&s->l));
	}
	return NULL;
}

static void sleepy(void)
{
	make();
	run(sleepy_thread);
	printf("sleepy: holders sleep, counter %d, errors %d\n", s->counter, s->errors);
}

static void in_30ms(struct timespec *ts, clockid_t clk)
{
	clock_gettime(clk, ts);
	ts->tv_nsec += 30 * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void timed_out(int r)
{
	if (r == ETIMEDOUT)
		__atomic_add_fetch(&s->timeouts, 1, __ATOMIC_RELAXED);
	else
		bad(r ? r : -1);
}

static void *timed_thread(void *arg)
{
	struct timespec ts;
	(void)arg;
	in_30ms(&ts, CLOCK_MONOTONIC);
	timed_out(pthread_rwlock_clockwrlock(&s->l, CLOCK_MONOTONIC, &ts));
	in_30ms(&ts, CLOCK_REALTIME);
	timed_out(pthread_rwlock_clockrdlock(&s->l, CLOCK_REALTIME, &ts));
	in_30ms(&ts, CLOCK_REALTIME);
	timed_out(pthread_rwlock_timedwrlock(&s->l, &ts));
	return NULL;
}

static void timed(void)
{
	make();
	pid_t pid = holder();
	run(timed_thread);
	int e = child_exit(pid);
	printf("timed: a child held it, %d of %d timed locks ETIMEDOUT, errors %d, child exit %d\n",
	       s->timeouts, 3 * THREADS, s->errors, e);
}

static const char *name(int r)
{
	return r == EDEADLK ? "EDEADLK" : r == EBUSY ? "EBUSY" : r == 0 ? "0" : "other";
}

static void *reader(void *arg)
{
	(void)arg;
	int r = pthread_rwlock_rdlock(&s->l);
	if (!r)
		r = pthread_rwlock_unlock(&s->l);
	return (void *)(long)r;
}

static void self(void)
{
	pthread_t t;
	void *r;
	make();
	pthread_rwlock_wrlock(&s->l);
	int w = pthread_rwlock_wrlock(&s->l), rd = pthread_rwlock_rdlock(&s->l);
	int tw = pthread_rwlock_trywrlock(&s->l);
	pthread_create(&t, NULL, reader, NULL);
	usleep(10000);
	int u = pthread_rwlock_unlock(&s->l);
	pthread_join(t, &r);
	printf("self: wrlock %s, rdlock %s, trywrlock %s, unlock %s, a reader after %s\n", name(w),
	       name(rd), name(tw), name(u), name((int)(long)r));
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : "";
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return 1;
	setvbuf(stdout, NULL, _IONBF, 0);
	alarm(30);  /* a hang ends the run */
	if (!*only || !strcmp(only, "other"))
		other();
	if (!*only || !strcmp(only, "sleepy"))
		sleepy();
	if (!*only || !strcmp(only, "timed"))
		timed();
	if (!*only || !strcmp(only, "self"))
		self();
	return 0;
}
