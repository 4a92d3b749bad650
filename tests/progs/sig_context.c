/* A stop-the-world as conservative collectors make it (SBCL's gencgc,
 * Boehm GC): main sends each thread a signal; its SA_SIGINFO handler
 * records the interrupted stack pointer and instruction pointer from the
 * ucontext_t it is given, posts a semaphore and waits in sigsuspend until
 * the world is started again. The collector then scans each thread's
 * stack from that stack pointer up (SBCL: "garbage_collect: no SP known
 * for thread" when it is not on the thread's stack). Natively the context
 * is where the thread was: in a call it is parked in, or in the loop it
 * computes in. Threads parked (sem_wait, nanosleep, read of a pipe) and
 * computing (no system calls), on stacks of their own and on stacks given
 * with pthread_attr_setstack; three rounds. Printed: per thread, whether
 * the context's stack pointer lay on its stack and its instruction
 * pointer was set; and a handler that changes the context's return
 * address where a computing thread was interrupted takes effect (SBCL's
 * interrupt-thread makes its call so). */
#include <pthread.h>
#include <setjmp.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#define NT 6
#define ROUNDS 3

enum kind { SEM, SLEEP, PIPE, SPIN };
static const char *const kind_name[] = { "parked in sem_wait", "parked in nanosleep",
					 "parked in read of a pipe", "computing" };

struct th {
	pthread_t id;
	enum kind kind;
	int given;             /* pthread_attr_setstack */
	uintptr_t lo, hi;      /* its stack */
	volatile int ready;
	volatile uintptr_t sp, pc;
	volatile int bad;      /* rounds whose context was wrong */
};

static struct th th[NT];
static sem_t ack, parked_sem;
static int pfd[2];
static volatile int stop;
static __thread struct th *me;

static void on_stop(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	struct th *t = me;
	if (t) {
		uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
		uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
		t->sp = sp;
		t->pc = pc;
		if (!(sp >= t->lo && sp < t->hi) || !pc)
			t->bad++;
	}
	sem_post(&ack);
	sigset_t wait;
	sigfillset(&wait);
	sigdelset(&wait, SIGUSR1);
	sigsuspend(&wait);  /* until the world starts again */
}

static void on_start(int sig)
{
	(void)sig;
}

static void *body(void *arg)
{
	struct th *t = arg;
	me = t;
	pthread_attr_t a;
	void *addr;
	size_t size;
	pthread_getattr_np(pthread_self(), &a);
	pthread_attr_getstack(&a, &addr, &size);
	pthread_attr_destroy(&a);
	t->lo = (uintptr_t)addr;
	t->hi = (uintptr_t)addr + size;
	__atomic_store_n(&t->ready, 1, __ATOMIC_RELEASE);
	volatile unsigned long n = 0;
	char c;
	struct timespec ts = { 0, 200 * 1000000L };
	while (!stop) {
		switch (t->kind) {
		case SEM: sem_wait(&parked_sem); break;
		case SLEEP: nanosleep(&ts, NULL); break;
		case PIPE: if (read(pfd[0], &c, 1) == 0) return NULL; break;
		case SPIN: n++; break;
		}
	}
	return NULL;
}

/* The redirect case: the handler sets the context's return address to
 * escape(), which records that it ran and leaves the thread. */
static volatile int escaped, redirected;
static sigjmp_buf back;
static void escape(void)
{
	escaped = 1;
	siglongjmp(back, 1);
}

static void on_redirect(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	/* keep the stack 16-byte aligned less the return address, as at a call */
	uintptr_t sp = ((uintptr_t)uc->uc_mcontext.gregs[REG_RSP] - 256) & ~(uintptr_t)15;
	uc->uc_mcontext.gregs[REG_RSP] = (greg_t)(sp - 8);
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)escape;
	redirected = 1;
}

static void *spinner(void *arg)
{
	(void)arg;
	volatile unsigned long n = 0;
	if (sigsetjmp(back, 1))
		return NULL;
	__atomic_store_n(&th[0].ready, 2, __ATOMIC_RELEASE);
	while (!stop)
		n++;
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_stop;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);  /* SIGUSR1 too: it comes in sigsuspend */
	sigaction(SIGUSR2, &sa, NULL);
	struct sigaction st;
	memset(&st, 0, sizeof(st));
	st.sa_handler = on_start;
	sigemptyset(&st.sa_mask);
	sigaction(SIGUSR1, &st, NULL);
	sem_init(&ack, 0, 0);
	sem_init(&parked_sem, 0, 0);
	if (pipe(pfd))
		return 1;
	static const enum kind kinds[NT] = { SEM, SLEEP, PIPE, SPIN, SEM, SPIN };
	for (int i = 0; i < NT; i++) {
		th[i].kind = kinds[i];
		th[i].given = i >= 4;
		pthread_attr_t a;
		pthread_attr_init(&a);
		if (th[i].given) {
			size_t size = 256 * 1024;
			void *stk = aligned_alloc(4096, size);
			pthread_attr_setstack(&a, stk, size);
		}
		pthread_create(&th[i].id, &a, body, &th[i]);
		pthread_attr_destroy(&a);
	}
	for (int i = 0; i < NT; i++)
		while (!__atomic_load_n(&th[i].ready, __ATOMIC_ACQUIRE))
			usleep(1000);
	for (int r = 0; r < ROUNDS; r++) {
		usleep(20000);  /* let the parked ones park */
		for (int i = 0; i < NT; i++)
			pthread_kill(th[i].id, SIGUSR2);
		for (int i = 0; i < NT; i++)
			while (sem_wait(&ack))
				;
		/* the world is stopped: every handler has recorded its context */
		for (int i = 0; i < NT; i++)
			pthread_kill(th[i].id, SIGUSR1);
	}
	stop = 1;
	sem_post(&parked_sem);
	sem_post(&parked_sem);
	close(pfd[1]);
	for (int i = 0; i < NT; i++)
		pthread_join(th[i].id, NULL);
	for (int i = 0; i < NT; i++)
		printf("thread %d (%s, %s stack): context on its stack with a pc in %d of %d rounds\n",
		       i, kind_name[th[i].kind], th[i].given ? "given" : "its own",
		       ROUNDS - th[i].bad, ROUNDS);

	/* A handler that changes where the interrupted thread goes on. */
	stop = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_redirect;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	pthread_t s;
	th[0].ready = 0;
	pthread_create(&s, NULL, spinner, NULL);
	while (__atomic_load_n(&th[0].ready, __ATOMIC_ACQUIRE) != 2)
		usleep(1000);
	usleep(20000);
	pthread_kill(s, SIGUSR2);
	for (int i = 0; i < 200 && !escaped; i++)
		usleep(10000);
	stop = 1;  /* natively it has left by escape() already */
	pthread_join(s, NULL);
	printf("a computing thread whose handler set the context's pc: handler ran %d, went on there %d\n",
	       redirected, escaped);
	return 0;
}
