/* A thread that changes its signal mask in a tight loop while another
 * computes with that signal blocked (mosquitto's threads do the like).
 *
 * Under the shim each change alters the set of signals blocked on every
 * worker (the runtime keeps the intersection of the tasks' masks there)
 * and the other workers are told with a signal of the runtime's own: a
 * real-time signal, which the kernel queues per sending, so thousands of
 * them reached the computing worker at once and their handlers nested
 * until the stack ran out (SIGSEGV). Argument: the number of changes
 * (default 100000). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static volatile int stop, started;
static volatile int got;

static void on_usr1(int sig)
{
	(void)sig;
	got++;
}

static void *spinner(void *arg)
{
	(void)arg;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	started = 1;
	volatile unsigned long x = 0;
	while (!stop)
		x++;
	return NULL;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	signal(SIGUSR1, on_usr1);
	pthread_t th;
	pthread_create(&th, NULL, spinner, NULL);
	while (!started)
		sched_yield();
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	long bad = 0;
	for (long i = 0; i < n; i++) {
		bad += pthread_sigmask(SIG_BLOCK, &s, NULL) != 0;
		bad += pthread_sigmask(SIG_UNBLOCK, &s, NULL) != 0;
	}
	/* the signal still reaches this thread, the one that has it unblocked */
	raise(SIGUSR1);
	stop = 1;
	pthread_join(th, NULL);
	printf("%ld mask changes, %ld failed; SIGUSR1 handled %d time(s)\n", 2 * n, bad, got);
	return 0;
}
