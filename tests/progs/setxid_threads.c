/* setuid-family calls with threads running (squid drops privileges so).
 *
 * glibc makes setuid(2) and friends process-wide by signalling every
 * kernel thread it knows of and waiting until each has made the call too.
 * Here 6 threads are parked (a pipe read, a condition variable, a sleep)
 * or computing while the main thread changes its effective ids back and
 * forth; then every thread reports the effective uid and gid the kernel
 * gives its own kernel thread. Run as root the ids change (65534, nobody);
 * otherwise they are set to what they are, which goes the same way
 * through glibc. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <grp.h>

#define NT 6

static int pfd[2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int phase;          /* 1: report */
static volatile int spin_stop;
static long seen_uid[NT], seen_gid[NT];
/* TLS of the program's own (as squid's C++ has): under the shim each
 * thread then has a thread pointer of its own */
static __thread long tl_reports;

static void report(int i)
{
	/* the kernel's answer for this thread, not a cached one */
	tl_reports++;
	seen_uid[i] = syscall(SYS_geteuid);
	seen_gid[i] = syscall(SYS_getegid);
}

static void *worker(void *arg)
{
	int i = (int)(long)arg;
	switch (i % 3) {
	case 0: {  /* parked in a read until the main thread writes */
		char c;
		if (read(pfd[0], &c, 1) != 1)
			return NULL;
		break;
	}
	case 1:  /* parked on a condition variable */
		pthread_mutex_lock(&mu);
		while (phase == 0)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
		break;
	default: {  /* computing */
		volatile unsigned long x = 0;
		while (!spin_stop)
			x++;
		break;
	}
	}
	report(i);
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int root = geteuid() == 0;
	uid_t uid = root ? 65534 : geteuid();
	gid_t gid = root ? 65534 : getegid();
	if (pipe(pfd))
		return 1;
	pthread_t th[NT];
	for (long i = 0; i < NT; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	usleep(100000);  /* all of them parked or computing */
	int bad = 0;
	/* back and forth: each call reaches every kernel thread */
	for (int round = 0; round < 50; round++) {
		if (setegid(round % 2 ? getgid() : gid) || seteuid(round % 2 ? getuid() : uid))
			bad++;
		if (seteuid(getuid()) || setegid(getgid()))
			bad++;
	}
	if (setegid(gid) || seteuid(uid))
		bad++;
	printf("root: %s; 100 round trips and a last change, %d failed\n", root ? "yes" : "no", bad);
	pthread_mutex_lock(&mu);
	phase = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	spin_stop = 1;
	for (int i = 0; i < NT; i++)
		if (write(pfd[1], "x", 1) != 1)
			return 1;
	for (int i = 0; i < NT; i++)
		pthread_join(th[i], NULL);
	int same = 1;
	for (int i = 0; i < NT; i++)
		if (seen_uid[i] != (long)uid || seen_gid[i] != (long)gid)
			same = 0;
	printf("every thread sees euid %ld egid %ld: %s\n", (long)uid, (long)gid, same ? "yes" : "no");
	/* a thread made after the change inherits it */
	pthread_t late;
	pthread_create(&late, NULL, worker, (void *)(long)0);
	if (write(pfd[1], "x", 1) != 1)
		return 1;
	pthread_join(late, NULL);
	printf("a thread made afterwards sees euid %ld\n", seen_uid[0]);
	return 0;
}
