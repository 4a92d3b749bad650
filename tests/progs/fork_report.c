/* A process whose tasks made calls the shim passes to the kernel (one
 * pthread_getcpuclockid each: a fallback), and which slept, forks; the child runs one task of its own and exits with exit()
 * (its report is written). The child's EVSHIM_STATS report must count
 * only the child: no fallbacks, its own tasks and kernel threads
 * (varnishd's cache process listed its manager's fallbacks and stalls). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *run(void *p)
{
	struct timespec ms = { 0, 1000000 };
	clockid_t c;
	nanosleep(&ms, NULL);
	pthread_getcpuclockid(pthread_self(), &c);
	return p;
}

static void *nap(void *p)
{
	struct timespec ms = { 0, 1000000 };
	nanosleep(&ms, NULL);
	return p;
}

int main(void)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, run, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		pthread_create(&t[0], NULL, nap, NULL);
		pthread_join(t[0], NULL);
		exit(0);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	printf("4 threads, then a child with 1: it exited %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}
