/* abort_handler: abort() (and a failed assert) with a SIGABRT handler
 * installed. glibc's abort raises SIGABRT with its own internal raise,
 * past the shim's hook; natively the handler has run before that raise
 * returns, and then abort puts the default action back and raises again.
 * Under the shim the signal arrived inside libc, was only noted, and the
 * process died by the second raise without the handler ever running
 * (CPython's faulthandler printed nothing for SIGABRT). Cases, each in a
 * child: the handler returns (the process ends by SIGABRT), the handler
 * jumps out of abort with siglongjmp (the program goes on), the same in a
 * second thread, and assert(). Prints what ran and how each child ended. */
#include <assert.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf back;
static volatile int jump;

static void on_abrt(int sig)
{
	char b[64];
	int n = snprintf(b, sizeof b, "handler: signal %d\n", sig);
	write(1, b, (size_t)n);
	if (jump)
		siglongjmp(back, 1);
}

static void *in_thread(void *arg)
{
	if (sigsetjmp(back, 1) == 0)
		abort();
	printf("thread: back from abort\n");
	return arg;
}

static void child(int k)
{
	signal(SIGABRT, on_abrt);
	switch (k) {
	case 0:  /* the handler returns: abort goes on to the default action */
		abort();
	case 1:  /* the handler leaves abort */
		jump = 1;
		if (sigsetjmp(back, 1) == 0)
			abort();
		printf("main: back from abort\n");
		exit(3);
	case 2: {
		jump = 1;
		pthread_t t;
		pthread_create(&t, NULL, in_thread, NULL);
		pthread_join(t, NULL);
		exit(4);
	}
	case 3:
		fclose(stderr);  /* assert's message is glibc's, not ours */
		assert(k == 0);
	}
	exit(9);
}

int main(void)
{
	for (int k = 0; k < 4; k++) {
		fflush(stdout);
		pid_t c = fork();
		if (c == 0)
			child(k);
		int st = 0;
		waitpid(c, &st, 0);
		if (WIFSIGNALED(st))
			printf("case %d: killed by signal %d\n", k, WTERMSIG(st));
		else
			printf("case %d: exit %d\n", k, WEXITSTATUS(st));
	}
	return 0;
}
