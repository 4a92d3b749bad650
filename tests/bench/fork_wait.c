/* Make a child and wait for it, N times, while a second thread exists
 * (blocked in a read, so the waiting thread is not the process's only
 * one): microseconds per round.
 *   fork_wait [MODE [N [bare]]]
 * MODE: vfork (vfork, _exit in the child, waitpid; the default), spawn
 * (posix_spawn of /bin/true, waitpid), fork (fork, _exit, waitpid),
 * forkexec (fork, execv of /bin/true, waitpid): the shapes of make,
 * shells and CPython's subprocess. bare: /bin/true gets an empty
 * environment (under the shim, no LD_PRELOAD: the parent's cost alone).
 * Prints `MODE_wait_us VALUE`. */
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int pfd[2];
static char **child_env;

static void *idle(void *x)
{
	char c;
	while (read(pfd[0], &c, 1) < 0)
		;
	return x;
}

static pid_t child(const char *mode)
{
	static char *argv[] = { "true", NULL };
	pid_t pid;
	if (!strcmp(mode, "spawn"))
		return posix_spawn(&pid, "/bin/true", NULL, NULL, argv, child_env) ? -1 : pid;
	pid = strcmp(mode, "vfork") ? fork() : vfork();
	if (pid == 0) {
		if (!strcmp(mode, "forkexec"))
			execve("/bin/true", argv, child_env);
		_exit(0);
	}
	return pid;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "vfork";
	long n = argc > 2 ? atol(argv[2]) : 2000;
	static char *bare[] = { NULL };
	child_env = argc > 3 && !strcmp(argv[3], "bare") ? bare : environ;
	if (strcmp(mode, "vfork") && strcmp(mode, "spawn") && strcmp(mode, "fork") &&
	    strcmp(mode, "forkexec")) {
		fprintf(stderr, "usage: fork_wait [vfork|spawn|fork|forkexec [N [bare]]]\n");
		return 2;
	}
	pthread_t t;
	if (pipe(pfd) || pthread_create(&t, NULL, idle, NULL))
		return 1;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++) {
		int st;
		pid_t pid = child(mode);
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "fork_wait: round %ld failed\n", i);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	close(pfd[1]);
	pthread_join(t, NULL);
	printf("%s_wait_us %.1f\n", mode, ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n / 1e3);
	return 0;
}
