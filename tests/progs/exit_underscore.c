/* A process that leaves with _exit (or _Exit) after its threads ran:
 * h2o, and nghttpx's worker process, end that way. No destructor runs,
 * so the EVSHIM_STATS report, written by the runtime's destructor, was
 * never written for them. Modes:
 *   main   3 threads, joined, then _exit(3)
 *   Exit   the same with _Exit(4)
 *   child  a forked child makes 2 threads, joins them, _exit(5); the
 *          parent returns from main
 *   vfork  a vfork child calls _exit(7) at once (it shares the parent's
 *          memory: it must write no report); the parent returns */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *nap(void *p)
{
	struct timespec ms = { 0, 1000000 };
	nanosleep(&ms, NULL);
	return p;
}

static void threads(int n)
{
	pthread_t t[8];
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, nap, NULL);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("%d threads joined\n", n);
	fflush(stdout);
}

static int status_of(pid_t pid)
{
	int st = 0;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "main";
	if (!strcmp(mode, "main")) {
		threads(3);
		_exit(3);
	}
	if (!strcmp(mode, "Exit")) {
		threads(3);
		_Exit(4);
	}
	if (!strcmp(mode, "child")) {
		pid_t pid = fork();
		if (pid == 0) {
			threads(2);
			_exit(5);
		}
		printf("the child exited %d\n", status_of(pid));
		return 0;
	}
	if (!strcmp(mode, "vfork")) {
		threads(1);
		pid_t pid = vfork();
		if (pid == 0)
			_exit(7);
		printf("the vfork child exited %d\n", status_of(pid));
		return 0;
	}
	fprintf(stderr, "usage: exit_underscore main|Exit|child|vfork\n");
	return 2;
}
