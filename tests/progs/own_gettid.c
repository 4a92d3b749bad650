/* own_gettid: the program defines gettid() itself, as code written before
 * glibc 2.30 had one does (netdata 1.37: `pid_t gettid(void) { return
 * syscall(SYS_gettid); }`). Its definition comes before libc's and the
 * shim's in the lookup order. The shim's syscall() answered SYS_gettid
 * by calling gettid(): the program's, which called syscall() again, until
 * the stack ran out (SIGSEGV in the first thread that asked).
 * Threads ask their id through it; each must be positive, stable, and
 * differ from the other threads'. Prints results only, the same natively
 * and under the shim. */
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define THREADS 8

pid_t gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static pid_t ids[THREADS];
static int stable[THREADS];

static void *run(void *arg)
{
	int i = (int)(long)arg;
	ids[i] = gettid();
	usleep(1000);
	stable[i] = gettid() == ids[i];
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	pid_t main_id = gettid();
	printf("main: the process id: %s\n", main_id == getpid() ? "yes" : "no");
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, run, (void *)(long)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	int ok = 0, distinct = 1;
	for (int i = 0; i < THREADS; i++) {
		ok += ids[i] > 0 && stable[i] && ids[i] != main_id;
		for (int j = 0; j < i; j++)
			distinct &= ids[i] != ids[j];
	}
	printf("threads: %d of %d with a positive, stable id of their own; all distinct: %s\n", ok, THREADS,
	       distinct ? "yes" : "no");
	return 0;
}
