/* Who holds a mutex left to glibc (process-shared, robust): an
 * error-checking one that another thread holds. Natively a second
 * thread's lock waits for the holder's unlock, and its unlock fails with
 * EPERM (the holder's lock is untouched); a robust one's unlock by a
 * non-holder fails with EPERM too.
 *
 * Under the shim glibc records the worker's kernel thread as the owner,
 * the same for every task of that worker: the second task's lock said
 * EDEADLK at once (it "held" it already), and its unlock freed the
 * holder's lock (pshared_cond's turns then hung about 1 run in 5). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static pthread_mutex_t *m;
static volatile int held, release;

static void ms(int n)
{
	struct timespec t = { 0, n * 1000000L };
	while (nanosleep(&t, &t))
		;
}

static void *holder(void *arg)
{
	(void)arg;
	int r = pthread_mutex_lock(m);
	held = 1;
	while (!release)
		ms(1);
	ms(50);
	int u = pthread_mutex_unlock(m);
	printf("holder: lock %s, unlock %s\n", r ? strerror(r) : "0", u ? strerror(u) : "0");
	return NULL;
}

static void one(const char *what, int type, int robust)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_settype(&a, type);
	if (robust)
		pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(m, &a);
	held = release = 0;
	pthread_t t;
	pthread_create(&t, NULL, holder, NULL);
	while (!held)
		ms(1);
	int tr = pthread_mutex_trylock(m);
	int un = pthread_mutex_unlock(m);
	release = 1;
	int lk = pthread_mutex_lock(m);  /* waits for the holder */
	int un2 = lk ? -1 : pthread_mutex_unlock(m);
	pthread_join(t, NULL);
	printf("%s: trylock %s, unlock of the holder's %s, lock %s, then unlock %s\n", what,
	       tr ? strerror(tr) : "0", un ? strerror(un) : "0", lk ? strerror(lk) : "0",
	       un2 < 0 ? "-" : un2 ? strerror(un2) : "0");
	pthread_mutex_destroy(m);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return 1;
	one("error-checking, process-shared", PTHREAD_MUTEX_ERRORCHECK, 0);
	one("robust, process-shared", PTHREAD_MUTEX_NORMAL, 1);
	one("error-checking, robust", PTHREAD_MUTEX_ERRORCHECK, 1);
	return 0;
}
