/* A single-threaded program with an alternate stack of its own and an
 * SA_ONSTACK handler for a timer firing every 100 us, computing for a
 * second meanwhile; the handler notes whether it ran on that stack.
 *
 * Under the shim the runtime's handler ran on the worker's alternate
 * stack and called the program's on the task's, its own frame left at
 * the top of the worker's. With one task the monitor does not run, and
 * a signal noted inside the runtime is retried by a kernel timer that
 * sends the runtime's own signal: framed by the kernel at the top of the
 * worker's alternate stack again (the stack pointer was on the task's),
 * over that frame. SIGSEGV in about 1 run in 3. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>

#define ALT (64 * 1024)

static char *alt;
static volatile unsigned long ran, off_alt;

static void on_alarm(int sig)
{
	(void)sig;
	volatile char here = 0;
	if ((uintptr_t)&here - (uintptr_t)alt >= ALT)
		off_alt++;
	ran++;
	(void)here;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	alt = mmap(NULL, ALT, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	stack_t ss = { .ss_sp = alt, .ss_size = ALT, .ss_flags = 0 };
	if (alt == MAP_FAILED || sigaltstack(&ss, NULL)) {
		perror("sigaltstack");
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_ONSTACK | SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 100 }, { 0, 100 } };
	setitimer(ITIMER_REAL, &it, NULL);
	double end = now() + 1, x = 0;
	while (now() < end)
		for (int i = 0; i < 1000; i++)
			x += i * 0.5;
	struct itimerval stop;
	memset(&stop, 0, sizeof(stop));
	setitimer(ITIMER_REAL, &stop, NULL);
	printf("computed: %s; the handler ran: %s, off the alternate stack: %lu time(s)\n",
	       x > 0 ? "yes" : "no", ran > 10 ? "yes" : "no", off_alt);
	return 0;
}
