/* The raw context switch, in isolation (linked against the runtime's
 * objects, no preload): nanoseconds per switch for the assembly and the
 * ucontext paths. */
#include "arch/switch.h"
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define N 5000000L
static struct evs_ctx a, b;
static ucontext_t ua, ub;

static void co(void *x)
{
	(void)x;
	for (;;)
		evs_ctx_switch(&b, &a);
}

static double run(int uc, long n)
{
	evs_switch_ucontext = uc;
	void *stk = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	a.uc = &ua;
	evs_ctx_make(&b, stk, 65536, co, NULL, &ub);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++)
		evs_ctx_switch(&a, &b);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	munmap(stk, 65536);
	return ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / (2.0 * n);
}

int main(void)
{
	run(0, N / 10);  /* warm up */
	printf("switch_asm_ns %.1f\n", run(0, N));
	printf("switch_ucontext_ns %.1f\n", run(1, N / 50));
	return 0;
}
