/* A fault taken inside a fault's handler, while that handler waits for
 * the other threads: SBCL's allocation traps (int3) at the end of a
 * pseudo-atomic section, its SIGTRAP handler runs the collector, which
 * stops the other threads and waits for them, and writes to pages it had
 * protected (the SIGSEGV handler, on the thread's alternate stack, lifts
 * the protection). The runtime's handler blocked every signal in the
 * kernel while the program's fault handler ran, so the nested SIGSEGV
 * ended the process (SBCL 2.2.9 died at its first collection from a
 * thread), and a handler that waited left the worker's other tasks
 * running with everything blocked.
 *
 * Each round, THREADS threads each trap with int3; each trap handler
 * writes to its thread's read-only page (mode "nested"; not in mode
 * "wait") and waits inside the handler until every thread's handler has
 * arrived (so one worker runs the other tasks' traps while the first
 * handler waits). */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define THREADS 3
#define ROUNDS 3

static char *pages;
static long pagesz;
static sem_t arrived, go[THREADS];
static volatile int segv_fixed[THREADS], traps[THREADS], segv_blocked[THREADS];
static __thread int me;
static int nested;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char *a = si->si_addr;
	if (a < pages || a >= pages + THREADS * pagesz)
		abort();
	size_t i = (size_t)(a - pages) / (size_t)pagesz;
	mprotect(pages + i * pagesz, (size_t)pagesz, PROT_READ | PROT_WRITE);
	segv_fixed[i]++;
}

static void on_trap(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	sigset_t now;
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	if (sigismember(&now, SIGSEGV))
		segv_blocked[me]++;
	traps[me]++;
	if (nested)
		pages[me * pagesz] = (char)traps[me];  /* faults: the page is read-only */
	sem_post(&arrived);
	while (sem_wait(&go[me]) != 0)
		;
}

static void *run(void *arg)
{
	me = (int)(intptr_t)arg;
	stack_t ss = { .ss_sp = malloc(65536), .ss_size = 65536 };
	sigaltstack(&ss, NULL);
	for (int r = 0; r < ROUNDS; r++) {
		__asm__ volatile("int3");
		mprotect(pages + me * pagesz, (size_t)pagesz, PROT_READ);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	nested = argc > 1 && !strcmp(argv[1], "nested");
	pagesz = sysconf(_SC_PAGESIZE);
	pages = mmap(NULL, THREADS * pagesz, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sem_init(&arrived, 0, 0);
	for (int i = 0; i < THREADS; i++)
		sem_init(&go[i], 0, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigaction(SIGSEGV, &sa, NULL);
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaddset(&sa.sa_mask, SIGUSR1);  /* as SBCL's deferrables: not the faults */
	sigaction(SIGTRAP, &sa, NULL);
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, run, (void *)(intptr_t)i);
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < THREADS; i++)
			while (sem_wait(&arrived) != 0)
				;
		printf("round %d: all %d trap handlers are waiting\n", r, THREADS);
		fflush(stdout);
		for (int i = 0; i < THREADS; i++)
			sem_post(&go[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < THREADS; i++)
		printf("thread %d: %d traps, %d page faults fixed inside them, SIGSEGV blocked in %d\n",
		       i, traps[i], segv_fixed[i], segv_blocked[i]);
	return 0;
}
