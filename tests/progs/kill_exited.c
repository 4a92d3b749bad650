/* Signals to a thread that has ended but is not joined yet: glibc 2.34
 * and later answer pthread_kill with 0 and send nothing (the thread is
 * exiting), pthread_sigqueue with ESRCH (the kernel cleared its tid).
 * The shim answered ESRCH to both. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t ran;

static void on_usr1(int sig)
{
	(void)sig;
	ran++;
}

static void *quick(void *x)
{
	return x;
}

static const char *err(int e)
{
	return e ? strerrorname_np(e) : "0";
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	pthread_t t;
	pthread_create(&t, NULL, quick, NULL);
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	nanosleep(&ts, NULL);  /* it has ended by now */
	printf("pthread_kill(ended, 0): %s\n", err(pthread_kill(t, 0)));
	printf("pthread_kill(ended, SIGUSR1): %s\n", err(pthread_kill(t, SIGUSR1)));
	union sigval v = { .sival_int = 1 };
	printf("pthread_sigqueue(ended, SIGUSR1): %s\n", err(pthread_sigqueue(t, SIGUSR1, v)));
	printf("join: %s; handler ran %d time(s)\n", err(pthread_join(t, NULL)), (int)ran);
	return 0;
}
