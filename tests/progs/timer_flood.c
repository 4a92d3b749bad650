/* A POSIX timer whose signal comes every microsecond, faster than a
 * handler returns (stress-ng's timer and hrtimers stressors): its handler,
 * on a small sigaltstack, re-arms the timer each time; main sleeps 10 ms
 * at a time for 1 s, then stops the timer.
 *
 * Under the shim a signal that interrupts the runtime is only noted, and
 * routed by the worker later. The kernel, which had handed the signal to
 * the runtime's handler, fired the timer again at once; each new one came
 * inside the runtime too, so the task never got past the first
 * instruction of the runtime's own handler, and the retry signal (every
 * 1 ms) stacked one frame on another until the alternate stack ran out:
 * SIGSEGV within a second, every run (stress-ng --timer, "unsuccessful
 * run"; stress-ng --hrtimers hung). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static timer_t tid;
static volatile unsigned long count;
static volatile int stop;
static struct timespec t0;
static double secs = 1.0;

static double since_t0(void)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/* The handler ends the flood itself once the time is up: natively too the
 * thread spends nearly all its time in this handler, and main's own look
 * at the clock came so seldom that a 1 s run took 60 s (over two minutes
 * on a loaded machine). */
static void on_timer(int sig)
{
	(void)sig;
	sigset_t m;
	count++;
	sigpending(&m);
	if (stop)
		return;
	if (since_t0() >= secs) {
		struct itimerspec off;
		memset(&off, 0, sizeof(off));
		timer_settime(tid, 0, &off, NULL);
		stop = 1;
		return;
	}
	timer_getoverrun(tid);
	struct itimerspec its = { { 0, 1000 }, { 0, 1000 } };
	timer_settime(tid, 0, &its, NULL);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		secs = atof(argv[1]);
	size_t sz = SIGSTKSZ;
	void *alt = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	stack_t ss = { .ss_sp = alt, .ss_size = sz };
	if (alt == MAP_FAILED || sigaltstack(&ss, NULL)) {
		perror("sigaltstack");
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_timer;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGRTMIN, &sa, NULL);
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN;
	if (timer_create(CLOCK_REALTIME, &sev, &tid)) {
		perror("timer_create");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct itimerspec its = { { 0, 1000 }, { 0, 1000 } };
	timer_settime(tid, 0, &its, NULL);
	do {
		struct timespec req = { 0, 10000000 };
		nanosleep(&req, NULL);
	} while (!stop && since_t0() < secs);
	stop = 1;
	struct itimerspec off;
	memset(&off, 0, sizeof(off));
	timer_settime(tid, 0, &off, NULL);
	timer_delete(tid);
	printf("slept %.0f s under a 1 us timer; its handler ran: %s\n", secs,
	       count > 0 ? "yes" : "no");
	return 0;
}
