/* A timer signal that lands while the program is inside a pthread lock
 * call, or in libc, must have its handler run soon, as natively: the
 * program loops on such calls until the handler clears a flag (openssl
 * speed: each test runs "while (run) EVP_Digest(...)" until SIGALRM's
 * handler clears run; every EVP_Digest mallocs and frees, and may take
 * and drop a read lock). Under the shim such a signal was only noted: it
 * came inside the runtime, or in libc, where a process that never started
 * the runtime cannot walk the stack to see whether the shim is below.
 * With no monitor in a single-threaded process to interrupt it again,
 * nothing ever took the note and the loop ran for ever (openssl speed
 * -multi 2 hung about one run in three).
 * Argument: rwlock (default), mutex, key (pthread_getspecific), libc
 * (malloc, memset, free), or "thread" for the rwlock with a second thread
 * alive (the runtime started, the monitor running). Prints how many
 * rounds ended; a round that does not end within 2 s makes the program
 * fail. */
#include <pthread.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t run;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile int stop;
static pthread_key_t key;

static void alarmed(int sig)
{
	(void)sig;
	run = 0;
}

static void *idler(void *arg)
{
	(void)arg;
	while (!stop)
		usleep(1000);
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "rwlock";
	int use_mutex = !strcmp(mode, "mutex"), use_key = !strcmp(mode, "key");
	int use_libc = !strcmp(mode, "libc");
	pthread_t th;
	if (!strcmp(mode, "thread")) {
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pthread_create(&th, NULL, idler, NULL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	pthread_key_create(&key, NULL);
	pthread_setspecific(key, &key);
	signal(SIGALRM, alarmed);
	int rounds = 300, ended = 0;
	for (int r = 0; r < rounds; r++) {
		struct itimerval it = { .it_value = { 0, 1000 + (r % 7) * 100 } };
		run = 1;
		setitimer(ITIMER_REAL, &it, NULL);
		double t0 = now();
		unsigned long n = 0;
		while (run) {
			if (use_libc) {
				for (int k = 0; k < 16; k++) {
					char *p = malloc(64 + (n + k) % 4000);
					memset(p, k, 64);
					free(p);
				}
			} else if (use_key) {
				if (pthread_getspecific(key) != &key)
					return 2;
			} else if (use_mutex) {
				pthread_mutex_lock(&mu);
				pthread_mutex_unlock(&mu);
			} else {
				pthread_rwlock_rdlock(&rw);
				pthread_rwlock_unlock(&rw);
			}
			if (++n % 4096 == 0 && now() - t0 > 2) {
				printf("round %d: the handler has not run after 2 s\n", r);
				return 1;
			}
		}
		ended++;
	}
	printf("%s: %d of %d rounds ended by the handler\n", mode, ended, rounds);
	stop = 1;
	if (!strcmp(mode, "thread"))
		pthread_join(th, NULL);
	return 0;
}
