/* Computing tasks that the monitor preempts move to an idle worker
 * (sched.c, "tasks that have run"). The pattern of
 * steal_pinned.c (pbzip2 -d): four threads wait on a condition while main
 * computes without a system call, so the other worker steals every one of
 * them and they park there; main lets them go and joins. This program has
 * __thread data of its own, so each task has its own thread pointer
 * (TLS address mode) and may move once it has run.
 * Each thread notes the kernel thread it computes on (the raw syscall
 * instruction: under the shim the gettid() call answers a task's own
 * number, not its worker's) and checks that its __thread data and errno's
 * address stayed its own across the wait. Prints whether the compute
 * phase ran on more than one kernel thread: natively yes (four threads);
 * under the shim yes only if some task moved to the idle worker (before
 * the move existed, all four computed on one worker). No timing is
 * measured. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>

static long raw_gettid(void)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "0"((long)SYS_gettid) : "rcx", "r11", "memory");
	return r;
}

static volatile unsigned long sink;

static void work(unsigned long n)
{
	unsigned long x = 1;
	for (unsigned long i = 0; i < n; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink += x;
}

static __thread int mine;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go;
static long tids[4];
static int broken;

static void *compute(void *arg)
{
	int i = (int)(long)arg;
	mine = i + 1;
	int *e = &errno, *m = &mine;
	pthread_mutex_lock(&mu);
	while (!go)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	work(40000000UL);
	tids[i] = raw_gettid();
	if (mine != i + 1 || m != &mine || e != &errno) {
		pthread_mutex_lock(&mu);
		broken++;
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

int main(void)
{
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, compute, (void *)i);
	work(60000000UL);  /* main busy, no system call: its worker stalls */
	pthread_mutex_lock(&mu);
	go = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	int distinct = 0;
	for (int i = 0; i < 4; i++) {
		int seen = 0;
		for (int j = 0; j < i; j++)
			seen |= tids[j] == tids[i];
		distinct += !seen;
	}
	printf("each thread kept its __thread data and errno address: %s\n", broken ? "no" : "yes");
	printf("the compute phase ran on more than one kernel thread: %s\n",
	       distinct > 1 ? "yes" : "no");
	return 0;
}
