/* The main thread waits in sigtimedwait (and sigwait, sigwaitinfo) for
 * SIGTERM and SIGHUP, which it blocks, at their default action, while one
 * thread, made before the block, leaves them open and four more block
 * them, all parked in a pipe read. A child sends SIGTERM (then SIGHUP) to
 * the process. Natively the kernel offers a process signal to the main
 * thread first, and its wait takes it: the process goes on. Under the
 * shim the kernel could hand it to any worker's thread, where SIGTERM's
 * default action ended the process (e2guardian's main thread waits so;
 * SIGTERM killed it at once). Prints what each wait took. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int pfd[2];

static void *reader(void *a)
{
	char c;
	(void)a;
	while (read(pfd[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* A child that sends sig to this process after a pause. */
static pid_t send_later(int sig)
{
	pid_t parent = getpid();
	pid_t p = fork();
	if (p == 0) {
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
		kill(parent, sig);
		_exit(0);
	}
	return p;
}

int main(void)
{
	if (pipe(pfd) != 0)
		return 1;
	pthread_t open_t, t[4];
	pthread_create(&open_t, NULL, reader, NULL);  /* SIGTERM and SIGHUP open */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, reader, NULL);

	for (int round = 0; round < 3; round++) {
		int sig = round == 1 ? SIGHUP : SIGTERM;
		pid_t c = send_later(sig);
		int got = -1;
		if (round == 0) {
			struct timespec ts = { 5, 0 };
			got = sigtimedwait(&set, NULL, &ts);
		} else if (round == 1) {
			siginfo_t si;
			got = sigwaitinfo(&set, &si);
		} else {
			if (sigwait(&set, &got) != 0)
				got = -1;
		}
		waitpid(c, NULL, 0);
		printf("round %d: took %s\n", round, got > 0 ? strsignal(got) : "nothing");
		fflush(stdout);
	}
	if (write(pfd[1], "xxxxx", 5) != 5)
		return 1;
	pthread_join(open_t, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("done\n");
	return 0;
}
