/* A process signal that comes while its own handler runs (the handler
 * blocks it) stays pending and is delivered as soon as the handler
 * returns, as sigreturn unblocks it. Under the shim the signal went to
 * the process's queue (no task took it then) and stayed there: the
 * handler's return put the task's mask back without looking at that
 * queue, so nothing ran it until some later sigprocmask. stress-ng
 * --sigio (a SIGIO handler that reads a pipe the child keeps filling)
 * saw its SIGIOs stop after a few hundred: 222 a second against 38,857
 * natively. Each case once with the main thread alone, once with a
 * second thread that blocks both signals (so none takes them). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int usr1_runs, io_runs;
static int fds[2];

static void on_usr1(int sig)
{
	(void)sig;
	if (++usr1_runs == 1)
		kill(getpid(), SIGUSR1);  /* blocked here: pending until we return */
}

static void on_io(int sig)
{
	(void)sig;
	char buf[64];
	while (read(fds[0], buf, sizeof(buf)) > 0)
		;
	if (++io_runs < 3)
		(void)!write(fds[1], "x", 1);  /* the kernel's SIGIO, blocked here */
}

/* Up to 2 s for the runs to reach `want` (natively: at once). */
static int wait_for(volatile int *runs, int want)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	for (int i = 0; i < 200 && *runs < want; i++)
		nanosleep(&ts, NULL);
	return *runs;
}

static int hold[2];

static void *blocker(void *arg)
{
	(void)arg;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGIO);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	char c;
	(void)!read(hold[0], &c, 1);  /* parked until main is done */
	return NULL;
}

static void round_of(const char *who)
{
	usr1_runs = 0;
	kill(getpid(), SIGUSR1);
	printf("%s: kill(SIGUSR1) from its own handler: handler ran %d time(s) when kill returned, ",
	       who, usr1_runs);
	printf("%d after waiting\n", wait_for(&usr1_runs, 2));

	io_runs = 0;
	(void)!write(fds[1], "x", 1);
	printf("%s: O_ASYNC pipe written from its own SIGIO handler: handler ran %d time(s)\n", who,
	       wait_for(&io_runs, 3));
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_io;
	sigaction(SIGIO, &sa, NULL);
	if (pipe(fds) || pipe(hold))
		return 1;
	if (fcntl(fds[0], F_SETOWN, getpid()) ||
	    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_ASYNC | O_NONBLOCK))
		return 1;

	round_of("main thread alone");

	pthread_t th;
	if (pthread_create(&th, NULL, blocker, NULL))
		return 1;
	usleep(50 * 1000);  /* its mask set: no thread but main takes them */
	round_of("beside a thread blocking both");
	(void)!write(hold[1], "x", 1);
	pthread_join(th, NULL);
	return 0;
}
