/* pbzip2 1.1.13 -d -p4 under the shim: 3.9 s against 1.0 s natively,
 * one CPU idle (the task dump: main parked in a condition wait on worker
 * 0, the four decompressors and the writer all on worker 1). pbzip2 makes
 * its consumers, which wait on a condition for their first block, then
 * reads and splits the input itself. While main computes without a
 * system call its worker is stalled, and the other worker steals every
 * fresh task from it (sched.c steal(): a stalled victim is robbed
 * whatever the thief's own load); they start there, park, and tasks that
 * have run never move: once main waits, its worker idles while all the
 * compute shares the other.
 * Four threads wait on a condition; main computes ~0.2 s, then lets them
 * go and joins. Prints whether the compute phase used more than one CPU
 * (process CPU time / wall > 1.5): natively "yes" on an idle machine with
 * 2 CPUs or more, "no" under the shim (wall 1.5 s against 0.74 s). A
 * timing check, so not in a bats test: it says "no" natively too when
 * another load holds a CPU.
 * Still "no" under the shim: this program has no __thread data of its
 * own, so its tasks share their worker's thread pointer and never move
 * once they have run. pbzip2 (C++: libstdc++'s TLS) runs in TLS address
 * mode, where preempted tasks move to an idle worker (sched.c);
 * moved_wakers.c is this program with __thread data, and its test. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static double clk(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile unsigned long sink;

static void work(unsigned long n)
{
	unsigned long x = 1;
	for (unsigned long i = 0; i < n; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink += x;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go;

static void *compute(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);  /* a consumer waiting for its first block */
	while (!go)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	work(300000000UL);
	return NULL;
}

int main(void)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, compute, NULL);
	work(60000000UL);  /* main busy, no system call: its worker stalls */
	double w0 = clk(CLOCK_MONOTONIC), c0 = clk(CLOCK_PROCESS_CPUTIME_ID);
	pthread_mutex_lock(&mu);
	go = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	double w = clk(CLOCK_MONOTONIC) - w0, c = clk(CLOCK_PROCESS_CPUTIME_ID) - c0;
	printf("compute phase used more than one CPU: %s\n", c / w > 1.5 ? "yes" : "no");
	fprintf(stderr, "wall %.2f s, cpu %.2f s\n", w, c);
	return 0;
}
