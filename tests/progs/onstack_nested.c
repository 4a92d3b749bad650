/* Signals nested inside a handler that runs on a thread's own alternate
 * stack. A thread sets a sigaltstack of its own and installs SA_ONSTACK
 * handlers for SIGUSR1, SIGUSR2 and SIGALRM with empty masks; the first
 * arms a timer for the second and waits in its own code until that one
 * has run, the second does the same for the third. Natively all three run
 * on the thread's alternate stack, each frame below the last.
 *
 * Under the shim the kernel knows only the worker's alternate stack: the
 * runtime's handler ran there and called the program's on the task's
 * alternate stack, its own frame left at the top of the worker's. The
 * second signal was framed at that top again (the stack pointer was not
 * on the worker's alternate stack), over the first frame, and its handler
 * was run at the top of the task's alternate stack, over the first
 * handler's frame: SIGSEGV when the first one returned.
 *
 * Two ways in: the first signal from a timer too ("timer"), or from
 * raise() ("raise"), whose handler the runtime runs itself. Main blocks
 * the three signals, so the timers' signals go to the thread. A third
 * ("preempt"): the first handler computes for 30 ms while another thread
 * computes beside it; on one worker the runtime's own signal comes to
 * preempt it (refused there) and was framed over the first frame too.
 * argv[1] names one of the three alone. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define ALT (64 * 1024)
#define LEVELS 3
#define ROUNDS 10

static const int sigs[LEVELS + 1] = { 0, SIGUSR1, SIGUSR2, SIGALRM };
static timer_t timers[LEVELS + 1];
static char *alt;
static volatile int ran[LEVELS + 1];
static volatile uintptr_t at[LEVELS + 1];
static volatile int timed_out;
static const char *only;  /* argv[1]: "timer", "raise" or "preempt" alone */
static volatile int busy_mode, spin_stop;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void arm(int level)
{
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_nsec = 1000000;  /* 1 ms */
	timer_settime(timers[level], 0, &its, NULL);
}

/* Until level has run, in the program's own code, at most 5 s. */
static void wait_for(int level)
{
	double end = now() + 5;
	while (!ran[level]) {
		for (volatile int i = 0; i < 10000 && !ran[level]; i++)
			;
		if (now() > end) {
			fprintf(stderr, "timed out waiting for level %d: ran %d %d %d\n", level, ran[1], ran[2], ran[3]);
			timed_out = 1;
			return;
		}
	}
}

static void on_sig(int sig)
{
	int level = 1;
	while (sigs[level] != sig)
		level++;
	volatile char here = 0;
	at[level] = (uintptr_t)&here;
	ran[level] = 1;
	if (busy_mode) {  /* 30 ms in the handler, a spinning thread beside it */
		double end = now() + 0.03;
		while (now() < end)
			;
		ran[LEVELS] = 1;
		return;
	}
	if (level < LEVELS) {
		arm(level + 1);
		wait_for(level + 1);
	}
	(void)here;
}

static int on_alt(uintptr_t p)
{
	return p - (uintptr_t)alt < ALT;
}

static void round_begin(void)
{
	for (int l = 1; l <= LEVELS; l++) {
		ran[l] = 0;
		at[l] = 0;
	}
}

/* Did every level run on the alternate stack, each below the last? */
static int round_ok(void)
{
	for (int l = 1; l <= LEVELS; l++)
		if (!ran[l] || !on_alt(at[l]) || (l > 1 && at[l] >= at[l - 1]))
			return 0;
	return 1;
}

/* Computes until told to stop (at most 10 s): on one worker, the
 * monitor preempts the thread in its handler for it. */
static void *spinner(void *arg)
{
	(void)arg;
	double end = now() + 10;
	while (!spin_stop && now() < end)
		for (volatile int i = 0; i < 100000; i++)
			;
	return NULL;
}

static void *thread(void *arg)
{
	(void)arg;
	stack_t ss = { .ss_sp = alt, .ss_size = ALT, .ss_flags = 0 };
	if (sigaltstack(&ss, NULL)) {
		perror("sigaltstack");
		return NULL;
	}
	sigset_t m;
	sigemptyset(&m);
	for (int l = 1; l <= LEVELS; l++)
		sigaddset(&m, sigs[l]);
	pthread_sigmask(SIG_UNBLOCK, &m, NULL);
	int ok = 0;
	for (int r = 0; r < ROUNDS && (!only || !strcmp(only, "timer")); r++) {
		round_begin();
		arm(1);
		wait_for(1);
		wait_for(LEVELS);
		ok += round_ok();
	}
	if (!only || !strcmp(only, "timer"))
		printf("timer: %d of %d rounds: %d nested handlers on the thread's alternate stack, each below the last\n",
		       ok, ROUNDS, LEVELS);
	ok = 0;
	for (int r = 0; r < ROUNDS && (!only || !strcmp(only, "raise")); r++) {
		round_begin();
		raise(SIGUSR1);
		wait_for(LEVELS);
		ok += round_ok();
	}
	if (!only || !strcmp(only, "raise"))
		printf("raise: %d of %d rounds: %d nested handlers on the thread's alternate stack, each below the last\n",
		       ok, ROUNDS, LEVELS);
	ok = 0;
	busy_mode = 1;
	for (int r = 0; r < ROUNDS && (!only || !strcmp(only, "preempt")); r++) {
		round_begin();
		arm(1);
		wait_for(1);
		wait_for(LEVELS);
		ok += ran[1] && on_alt(at[1]);
	}
	if (!only || !strcmp(only, "preempt"))
		printf("preempt: %d of %d rounds: a handler on the thread's alternate stack ran 30 ms beside a spinning thread\n",
		       ok, ROUNDS);
	spin_stop = 1;
	return NULL;
}

int main(int argc, char **argv)
{
	only = argc > 1 ? argv[1] : NULL;
	setvbuf(stdout, NULL, _IONBF, 0);
	alt = mmap(NULL, ALT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (alt == MAP_FAILED)
		return 1;
	sigset_t m;
	sigemptyset(&m);
	for (int l = 1; l <= LEVELS; l++) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sig;
		sa.sa_flags = SA_ONSTACK;
		sigemptyset(&sa.sa_mask);
		sigaction(sigs[l], &sa, NULL);
		struct sigevent sev;
		memset(&sev, 0, sizeof(sev));
		sev.sigev_notify = SIGEV_SIGNAL;
		sev.sigev_signo = sigs[l];
		if (timer_create(CLOCK_MONOTONIC, &sev, &timers[l])) {
			perror("timer_create");
			return 1;
		}
		sigaddset(&m, sigs[l]);
	}
	pthread_sigmask(SIG_BLOCK, &m, NULL);  /* the timers' signals go to the thread */
	pthread_t th, sp;
	pthread_create(&th, NULL, thread, NULL);
	pthread_create(&sp, NULL, spinner, NULL);
	pthread_join(th, NULL);
	pthread_join(sp, NULL);
	printf("timed out: %s\n", timed_out ? "yes" : "no");
	return 0;
}
