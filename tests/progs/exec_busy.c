/* exec from a thread whose worker has other work waiting: a second thread
 * sleeps in short steps, so its timers fall due while exec runs. A signal
 * the runtime sends to that worker meanwhile stays pending across exec and
 * reaches the new image before anything there can handle it (rustup's
 * cargo proxy, which execs the real cargo: 3 runs in 30 under the shim
 * ended by SIGRTMAX-1). The program execs itself GENS times, with a large
 * argument list so that exec takes a while; each generation prints one
 * line. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GENS 40
#define NARGS 3000
#define ARGLEN 200

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { 0, 100 * 1000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int gen = argc > 1 ? atoi(argv[1]) : 0;
	sigset_t m;
	sigprocmask(SIG_SETMASK, NULL, &m);
	int blocked = 0;
	for (int s = 1; s < NSIG; s++)
		blocked += sigismember(&m, s) == 1;
	printf("generation %d: %d args, %d signals blocked\n", gen, argc, blocked);
	fflush(stdout);
	if (gen == GENS)
		return 0;
	pthread_t th;
	pthread_create(&th, NULL, sleeper, NULL);
	/* the sleeper runs first (it never moves from this worker now) */
	struct timespec ts = { 0, 1000 * 1000 };
	nanosleep(&ts, NULL);
	/* then 3 ms inside libc (memset) with its timers falling due: the
	 * runtime cannot switch tasks there and keeps asking this worker */
	static char buf[256 << 10];
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		memset(buf, gen, sizeof(buf));
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 3000000L);
	static char *args[NARGS + 3];
	static char big[ARGLEN];
	memset(big, 'x', ARGLEN - 1);
	char num[16];
	snprintf(num, sizeof(num), "%d", gen + 1);
	args[0] = argv[0];
	args[1] = num;
	for (int i = 0; i < NARGS; i++)
		args[2 + i] = big;
	args[NARGS + 2] = NULL;
	execv("/proc/self/exe", args);
	perror("execv");
	return 1;
}
