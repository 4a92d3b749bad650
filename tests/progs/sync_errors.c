/* Error returns of the synchronization calls, one transcript line each,
 * to compare with glibc's own answers. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void show(const char *what, int r)
{
	printf("%-50s %s\n", what, r == 0 ? "0" : r > 0 ? strerrorname_np(r) : "?");
	fflush(stdout);
}

static void showe(const char *what, int r)  /* -1/errno calls */
{
	printf("%-50s %s\n", what, r == 0 ? "0" : strerrorname_np(errno));
	fflush(stdout);
}

static struct timespec in_ms(clockid_t clk, long ms)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	ts.tv_nsec += ms * 1000000;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	return ts;
}

static pthread_mutex_t ec = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static pthread_mutex_t rc = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t nm = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t ad = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;

static void *other_unlock(void *x)
{
	return (void *)(long)pthread_mutex_unlock(x);
}

static void *other_trylock(void *x)
{
	return (void *)(long)pthread_mutex_trylock(x);
}

static void *other_timedlock(void *x)
{
	struct timespec ts = in_ms(CLOCK_REALTIME, 30);
	return (void *)(long)pthread_mutex_timedlock(x, &ts);
}

static void *other_badtime(void *x)
{
	struct timespec ts = { 0, 2000000000 };
	return (void *)(long)pthread_mutex_timedlock(x, &ts);
}

static void *other_trywr(void *x)
{
	return (void *)(long)pthread_rwlock_trywrlock(x);
}

static void *other_timedwr(void *x)
{
	struct timespec ts = in_ms(CLOCK_REALTIME, 30);
	return (void *)(long)pthread_rwlock_timedwrlock(x, &ts);
}

static int in_thread(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	void *r;
	pthread_create(&t, NULL, fn, arg);
	pthread_join(t, &r);
	return (int)(long)r;
}

static int once_runs;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static void once_fn(void) { usleep(10000); once_runs++; }
static void *do_once(void *x) { (void)x; pthread_once(&once, once_fn); return NULL; }

static pthread_barrier_t bar;
static int serials;
static void *at_barrier(void *x)
{
	(void)x;
	for (int i = 0; i < 3; i++)
		if (pthread_barrier_wait(&bar) == PTHREAD_BARRIER_SERIAL_THREAD)
			__atomic_fetch_add(&serials, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void *nap(void *p)
{
	usleep(50000);
	return p;
}

int main(void)
{
	show("errorcheck: lock", pthread_mutex_lock(&ec));
	show("errorcheck: lock again", pthread_mutex_lock(&ec));
	show("errorcheck: trylock by owner", pthread_mutex_trylock(&ec));
	show("errorcheck: unlock by another thread", in_thread(other_unlock, &ec));
	show("errorcheck: unlock", pthread_mutex_unlock(&ec));
	show("errorcheck: unlock when unlocked", pthread_mutex_unlock(&ec));

	show("recursive: lock", pthread_mutex_lock(&rc));
	show("recursive: lock again", pthread_mutex_lock(&rc));
	show("recursive: trylock by owner", pthread_mutex_trylock(&rc));
	show("recursive: trylock by another thread", in_thread(other_trylock, &rc));
	show("recursive: unlock by another thread", in_thread(other_unlock, &rc));
	show("recursive: unlock 1", pthread_mutex_unlock(&rc));
	show("recursive: unlock 2", pthread_mutex_unlock(&rc));
	show("recursive: unlock 3", pthread_mutex_unlock(&rc));
	show("recursive: unlock 4 (not held)", pthread_mutex_unlock(&rc));

	show("normal: lock", pthread_mutex_lock(&nm));
	show("normal: trylock by owner", pthread_mutex_trylock(&nm));
	show("normal: trylock by another thread", in_thread(other_trylock, &nm));
	show("normal: timedlock 30ms by another thread", in_thread(other_timedlock, &nm));
	show("normal: timedlock bad nsec, contended", in_thread(other_badtime, &nm));
	show("normal: destroy while locked", pthread_mutex_destroy(&nm));
	show("normal: unlock", pthread_mutex_unlock(&nm));
	struct timespec bad = { 0, 2000000000 };
	show("normal: timedlock bad nsec, free", pthread_mutex_timedlock(&nm, &bad));
	show("normal: unlock", pthread_mutex_unlock(&nm));
	show("adaptive: lock", pthread_mutex_lock(&ad));
	show("adaptive: trylock by owner", pthread_mutex_trylock(&ad));
	show("adaptive: unlock", pthread_mutex_unlock(&ad));

	pthread_mutex_t dm;
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
	show("init errorcheck from attr", pthread_mutex_init(&dm, &ma));
	show("  lock", pthread_mutex_lock(&dm));
	show("  lock again", pthread_mutex_lock(&dm));
	show("  unlock", pthread_mutex_unlock(&dm));
	show("  destroy", pthread_mutex_destroy(&dm));
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	show("process-shared mutex init", pthread_mutex_init(&dm, &ma));
	show("  lock", pthread_mutex_lock(&dm));
	show("  lock again (errorcheck)", pthread_mutex_lock(&dm));
	show("  unlock", pthread_mutex_unlock(&dm));

	pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
	pthread_mutex_lock(&cm);
	struct timespec ts = in_ms(CLOCK_REALTIME, 30);
	show("cond_timedwait 30ms, no signal", pthread_cond_timedwait(&cv, &cm, &ts));
	show("cond_timedwait bad nsec", pthread_cond_timedwait(&cv, &cm, &bad));
	ts = in_ms(CLOCK_MONOTONIC, 30);
	show("cond_clockwait MONOTONIC 30ms", pthread_cond_clockwait(&cv, &cm, CLOCK_MONOTONIC, &ts));
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_t mcv;
	pthread_cond_init(&mcv, &ca);
	ts = in_ms(CLOCK_MONOTONIC, 30);
	show("cond (clock MONOTONIC) timedwait 30ms", pthread_cond_timedwait(&mcv, &cm, &ts));
	pthread_mutex_unlock(&cm);
	show("signal with no waiters", pthread_cond_signal(&cv));
	show("broadcast with no waiters", pthread_cond_broadcast(&cv));
	show("cond destroy", pthread_cond_destroy(&mcv));

	sem_t s;
	showe("sem_init value SEM_VALUE_MAX+1", sem_init(&s, 0, (unsigned)SEM_VALUE_MAX + 1));
	showe("sem_init 2", sem_init(&s, 0, 2));
	showe("sem_trywait", sem_trywait(&s));
	showe("sem_wait", sem_wait(&s));
	showe("sem_trywait at 0", sem_trywait(&s));
	ts = in_ms(CLOCK_REALTIME, 30);
	showe("sem_timedwait 30ms at 0", sem_timedwait(&s, &ts));
	ts = in_ms(CLOCK_MONOTONIC, 30);
	showe("sem_clockwait MONOTONIC 30ms at 0", sem_clockwait(&s, CLOCK_MONOTONIC, &ts));
	showe("sem_timedwait bad nsec at 0", sem_timedwait(&s, &bad));
	showe("sem_post", sem_post(&s));
	int v;
	sem_getvalue(&s, &v);
	printf("%-50s %d\n", "sem_getvalue", v);
	showe("sem_destroy", sem_destroy(&s));

	show("rwlock: rdlock", pthread_rwlock_rdlock(&rw));
	show("rwlock: rdlock again", pthread_rwlock_rdlock(&rw));
	show("rwlock: trywrlock by another thread", in_thread(other_trywr, &rw));
	show("rwlock: timedwrlock 30ms by another thread", in_thread(other_timedwr, &rw));
	show("rwlock: unlock", pthread_rwlock_unlock(&rw));
	show("rwlock: unlock", pthread_rwlock_unlock(&rw));
	show("rwlock: wrlock", pthread_rwlock_wrlock(&rw));
	show("rwlock: wrlock again", pthread_rwlock_wrlock(&rw));
	show("rwlock: rdlock while writing", pthread_rwlock_rdlock(&rw));
	show("rwlock: tryrdlock while writing", pthread_rwlock_tryrdlock(&rw));
	show("rwlock: unlock", pthread_rwlock_unlock(&rw));

	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, do_once, NULL);
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	printf("%-50s %d\n", "pthread_once from 8 threads: runs", once_runs);

	show("barrier init count 0", pthread_barrier_init(&bar, NULL, 0));
	show("barrier init count 4", pthread_barrier_init(&bar, NULL, 4));
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, at_barrier, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("%-50s %d\n", "barrier 4 threads x 3 rounds: serial threads", serials);
	show("barrier destroy", pthread_barrier_destroy(&bar));

	pthread_spinlock_t sp;
	show("spin init", pthread_spin_init(&sp, 0));
	show("spin lock", pthread_spin_lock(&sp));
	show("spin trylock held", pthread_spin_trylock(&sp));
	show("spin unlock", pthread_spin_unlock(&sp));

	/* timeouts glibc checks before anything: EINVAL even for a free lock
	 * or one the caller holds (EDEADLK comes after) */
	struct timespec badns = { 0, 2000000000 };
	show("rwlock: timedrdlock, bad nsec, free", pthread_rwlock_timedrdlock(&rw, &badns));
	show("rwlock: timedwrlock, bad nsec, free", pthread_rwlock_timedwrlock(&rw, &badns));
	show("rwlock: clockrdlock, CPU-time clock", pthread_rwlock_clockrdlock(&rw, CLOCK_PROCESS_CPUTIME_ID, &badns));
	show("rwlock: wrlock", pthread_rwlock_wrlock(&rw));
	show("rwlock: timedrdlock, bad nsec, writing", pthread_rwlock_timedrdlock(&rw, &badns));
	show("rwlock: timedwrlock, bad nsec, writing", pthread_rwlock_timedwrlock(&rw, &badns));
	show("rwlock: unlock", pthread_rwlock_unlock(&rw));

	/* joins: glibc's futex wait refuses a bad timeout and its loop waits
	 * on until the thread ends (0); a second join of a joined thread whose
	 * stack is kept for reuse: ESRCH (under the shim it went to glibc's
	 * join with the runtime's memory: SIGSEGV) */
	pthread_t j;
	pthread_create(&j, NULL, nap, NULL);
	show("tryjoin_np, running", pthread_tryjoin_np(j, NULL));
	show("timedjoin_np, bad nsec", pthread_timedjoin_np(j, NULL, &badns));
	show("join again", pthread_join(j, NULL));
	show("detach it", pthread_detach(j));
	return 0;
}
