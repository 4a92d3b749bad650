/* A signal a program sends to its own process is handled before the call
 * that sent it returns, when the sender does not block it (kill(2), POSIX);
 * unblocking a pending signal runs its handler before pthread_sigmask
 * returns (CPython's test_signal: test_pthread_sigmask, test_sigpending
 * check both at once; test_pidfd_send_signal sends SIGINT through
 * syscall(SYS_pidfd_send_signal) and expects KeyboardInterrupt on the
 * spot: late, it escaped the test and interrupted regrtest). Under the
 * shim the signal arrived inside the hook (or inside the runtime's own
 * sigprocmask) where the runtime only noted it, and the handler ran at
 * some later park, or never.
 * Argument "thread": the same with a second thread alive (the runtime
 * started, the monitor running); it blocks every signal, so that natively
 * too only the main thread can take them. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t ran;
static volatile int stop;

static void handler(int sig)
{
	(void)sig;
	ran++;
}

static void *idler(void *arg)
{
	(void)arg;
	while (!stop)
		usleep(1000);
	return NULL;
}

static void report(const char *what, int r)
{
	printf("%-46s returned %d, handler ran %d time(s) by then\n", what, r, (int)ran);
	ran = 0;
}

int main(int argc, char **argv)
{
	pthread_t th;
	int thread = argc > 1 && !strcmp(argv[1], "thread");
	if (thread) {
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);  /* the thread's, inherited */
		pthread_create(&th, NULL, idler, NULL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	sigset_t one;
	sigemptyset(&one);
	sigaddset(&one, SIGUSR1);

	report("kill(getpid(), SIGUSR1)", kill(getpid(), SIGUSR1));
	report("syscall(SYS_kill, getpid(), SIGUSR1)", (int)syscall(SYS_kill, getpid(), SIGUSR1));
	union sigval v = { .sival_int = 7 };
	report("sigqueue(getpid(), SIGUSR2)", sigqueue(getpid(), SIGUSR2, v));
	report("raise(SIGUSR2)", raise(SIGUSR2));

	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (pidfd >= 0) {
		report("syscall(SYS_pidfd_send_signal, SIGUSR2)",
		       (int)syscall(SYS_pidfd_send_signal, pidfd, SIGUSR2, NULL, 0));
		close(pidfd);
	} else {
		printf("no pidfd_open here\n");
	}

	pthread_sigmask(SIG_BLOCK, &one, NULL);
	report("SIGUSR1 blocked: kill(getpid(), SIGUSR1)", kill(getpid(), SIGUSR1));
	sigset_t pend;
	sigpending(&pend);
	printf("pending: SIGUSR1 %d\n", sigismember(&pend, SIGUSR1));
	report("pthread_sigmask(SIG_UNBLOCK, SIGUSR1)", pthread_sigmask(SIG_UNBLOCK, &one, NULL));
	sigpending(&pend);
	printf("pending: SIGUSR1 %d\n", sigismember(&pend, SIGUSR1));

	if (thread) {
		stop = 1;
		pthread_join(th, NULL);
	}
	return 0;
}
