/* Robust, process-shared and priority-inheritance mutexes waited for
 * while their holder blocks in a call. LMDB's writer lock is a robust,
 * process-shared mutex in its lock file; OpenLDAP's slapd takes it in
 * one connection's thread while another holds it across its disk
 * writes: under a runtime that lets glibc wait for such a mutex in the
 * kernel, the waiter holds the whole kernel thread, and a holder that
 * has to run there again to unlock never does (slapd hung for good with
 * six clients modifying entries at once).
 *
 * For each kind (robust; process-shared in shared memory; both, as
 * LMDB's; priority inheritance): a holder thread locks, says so, and
 * blocks in a pipe read; a second thread says it is about to lock and
 * locks; main writes to the pipe only after that, so the holder can
 * unlock only while the second thread waits. Then a timed lock of 30 ms
 * while the holder blocks (ETIMEDOUT), and a trylock (EBUSY). Then a
 * condition variable (an ordinary one) waited on with that mutex: a
 * signal wakes the waiter, a timed wait of 30 ms ends ETIMEDOUT with the
 * mutex held (a runtime that left such a wait to glibc, on a condition
 * whose signals it made itself, never woke the waiter).
 * Each wait is bounded (alarm 10 s ends a hung run). */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t *mtx;
static sem_t held, about;
static int pfd[2];
static int waited_rc = -1, order;
static int got_holder, got_waiter;

static void *holder(void *arg)
{
	(void)arg;
	char c;
	if (pthread_mutex_lock(mtx))
		return NULL;
	sem_post(&held);
	if (read(pfd[0], &c, 1) != 1)
		return NULL;
	got_holder = ++order;
	pthread_mutex_unlock(mtx);
	return NULL;
}

static void *waiter(void *arg)
{
	(void)arg;
	sem_wait(&held);
	sem_post(&about);
	waited_rc = pthread_mutex_lock(mtx);
	got_waiter = ++order;
	pthread_mutex_unlock(mtx);
	return NULL;
}

static void *timed(void *arg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 30 * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	int r = pthread_mutex_timedlock(mtx, &ts);
	int t = pthread_mutex_trylock(mtx);
	printf("  timedlock while held: %s, trylock: %s\n", r ? strerror(r) : "0",
	       t ? strerror(t) : "0");
	return NULL;
}

static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int flag, cond_rc = -1;

static void *cond_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(mtx);
	sem_post(&held);  /* main's lock below succeeds once this waits */
	while (!flag && cond_rc <= 0)
		cond_rc = pthread_cond_wait(&cv, mtx);
	pthread_mutex_unlock(mtx);
	return NULL;
}

static void one(const char *name, int robust, int pshared, int pi)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	if (robust)
		pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (pshared)
		pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (pi)
		pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	pthread_mutex_init(mtx, &a);
	pthread_mutexattr_destroy(&a);
	sem_init(&held, 0, 0);
	sem_init(&about, 0, 0);
	if (pipe(pfd))
		return;
	waited_rc = -1;
	order = got_holder = got_waiter = 0;

	pthread_t h, w, t;
	pthread_create(&h, NULL, holder, NULL);
	pthread_create(&w, NULL, waiter, NULL);
	sem_wait(&about);
	if (write(pfd[1], "x", 1) != 1)
		return;
	pthread_join(h, NULL);
	pthread_join(w, NULL);
	printf("%s: second locker got it: %s (after the holder let go: %s)\n", name,
	       waited_rc ? strerror(waited_rc) : "0",
	       got_holder == 1 && got_waiter == 2 ? "yes" : "no");

	sem_init(&held, 0, 0);
	pthread_create(&h, NULL, holder, NULL);
	sem_wait(&held);
	pthread_create(&t, NULL, timed, NULL);
	pthread_join(t, NULL);
	if (write(pfd[1], "x", 1) != 1)
		return;
	pthread_join(h, NULL);
	printf("  free again: trylock %d\n", pthread_mutex_trylock(mtx));
	pthread_mutex_unlock(mtx);

	flag = 0;
	cond_rc = -1;
	sem_init(&held, 0, 0);
	pthread_create(&w, NULL, cond_waiter, NULL);
	sem_wait(&held);
	pthread_mutex_lock(mtx);
	flag = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(mtx);
	pthread_join(w, NULL);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 30 * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(mtx);
	int r = pthread_cond_timedwait(&cv, mtx, &ts);
	printf("  condition: signalled waiter woke: %s; timedwait 30 ms: %s\n",
	       flag && cond_rc == 0 ? "yes" : "no", r ? strerror(r) : "0");
	pthread_mutex_unlock(mtx);
	pthread_mutex_destroy(mtx);
	close(pfd[0]);
	close(pfd[1]);
}

int main(void)
{
	alarm(10);
	mtx = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mtx == MAP_FAILED)
		return 1;
	one("robust", 1, 0, 0);
	one("process-shared", 0, 1, 0);
	one("robust process-shared (LMDB's)", 1, 1, 0);
	one("priority inheritance", 0, 0, 1);
	return 0;
}
