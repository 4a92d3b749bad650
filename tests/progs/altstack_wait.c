/* A handler that waits, delivered to a thread running on a stack that is
 * not its thread stack, while the other threads take signals. SBCL runs
 * Lisp on a control stack of its own; its stop-for-GC handler (SIGUSR2)
 * waits in sem_wait until the collection is over. Under the shim the
 * handler of a task interrupted on such a stack ran on the worker's
 * alternate stack (rt/monitor.c on_preempt), and parked there: the next
 * signal the kernel gave the worker (another task's, the monitor's) was
 * written at the top of that stack, over the waiting handler's frame, and
 * its sigreturn later restored garbage (SBCL's threads test, 1 worker:
 * "Memory fault" in the scheduler in about 1 run in 8, the scheduler
 * resumed with the main task's registers).
 *
 * One thread sets an alternate stack, and spins on a buffer of its own
 * (no calls); another sends it SIGUSR1, whose handler waits on a
 * semaphore; meanwhile the sender writes 50 times, 1 ms apart, to a page
 * it has just made read-only, and its SIGSEGV handler (SA_ONSTACK, as
 * SBCL's write barrier) makes it writable again; then it posts the
 * semaphore and tells the spinner to stop. Run with EVSHIM_WORKERS=1
 * (both threads on one worker). */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define BUF (64 * 1024)
#define ALT (64 * 1024)

static unsigned char *buf, *alt;
static volatile int spinning, stop, entered, left, faults;
static sem_t go;
static pthread_t spinner_thr;

static void on_usr1(int sig)
{
	(void)sig;
	entered = 1;
	while (sem_wait(&go) != 0)
		;
	left = 1;
}

static char *page;
static long pagesz;

/* A write barrier, as SBCL's: the page is made writable again. */
static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if ((char *)si->si_addr < page || (char *)si->si_addr >= page + pagesz)
		abort();
	mprotect(page, pagesz, PROT_READ | PROT_WRITE);
	faults++;
}

/* About 1 ms of work with no calls, on the buffer. */
static void spin(void)
{
	spinning = 1;
	for (unsigned long i = 0; i < 1000000UL && !stop; i++)
		__asm__ volatile("" ::: "memory");
}

static void call_on(void *top, void (*fn)(void))
{
	__asm__ volatile("mov %%rsp, %%rbx\n\t"
			 "mov %0, %%rsp\n\t"
			 "call *%1\n\t"
			 "mov %%rbx, %%rsp\n\t"
			 :
			 : "r"(top), "r"(fn)
			 : "rbx", "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
			   "memory", "cc");
}

static void *spinner(void *arg)
{
	(void)arg;
	stack_t ss = { .ss_sp = alt, .ss_size = ALT, .ss_flags = 0 };
	if (sigaltstack(&ss, NULL) != 0) {
		perror("sigaltstack");
		exit(1);
	}
	/* Back on its own stack now and then to let the sender run on the
	 * same worker (a task computing on another stack is never
	 * preempted: a spare worker would take the sender). */
	for (int i = 0; i < 200000 && !stop; i++) {
		call_on(buf + BUF - 256, spin);
		sched_yield();
	}
	return NULL;
}

static void nap(void)
{
	struct timespec ts = { 0, 1000000 };
	nanosleep(&ts, NULL);
}

static void *sender(void *arg)
{
	(void)arg;
	while (!spinning)
		usleep(1000);
	pthread_kill(spinner_thr, SIGUSR1);
	for (int i = 0; i < 20000 && !entered; i++)  /* at most 20 s */
		nap();
	for (int i = 0; i < 50; i++) {
		mprotect(page, pagesz, PROT_READ);
		((volatile char *)page)[i] = (char)i;
		nap();
	}
	sem_post(&go);
	for (int i = 0; i < 20000 && !left; i++)
		nap();
	for (int i = 0; i < 20; i++)  /* the spinner back from its handler */
		nap();
	stop = 1;
	return NULL;
}

int main(void)
{
	pagesz = sysconf(_SC_PAGESIZE);
	page = mmap(NULL, pagesz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return 1;
	buf = malloc(BUF);
	alt = malloc(ALT);
	if (!buf || !alt)
		return 1;
	sem_init(&go, 0, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;  /* SBCL's SIGUSR2: on the stack it interrupts */
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigaction(SIGSEGV, &sa, NULL);

	pthread_t s;
	pthread_create(&spinner_thr, NULL, spinner, NULL);
	pthread_create(&s, NULL, sender, NULL);
	pthread_join(s, NULL);
	pthread_join(spinner_thr, NULL);
	printf("handler waited and returned: %s\n", entered && left ? "yes" : "no");
	printf("write faults handled: %d\n", faults);
	printf("spinner stopped when told: %s\n", stop ? "yes" : "no");
	return 0;
}
