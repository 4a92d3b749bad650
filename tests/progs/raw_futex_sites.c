/* Waits made with the `syscall` instruction itself, as GNU OpenMP's
 * barriers make them (its own inline futex calls), by more threads than
 * the shim has workers.
 *
 * 4 threads meet at a barrier 300 times (a generation word: the last to
 * arrive bumps it and wakes the rest; the others wait on it with a raw
 * FUTEX_WAIT), every thread with every signal blocked. Then the same
 * system-call stub makes a call of another kind (getppid), and the
 * program runs an undefined instruction (ud2) of its own under a SIGILL
 * handler that steps over it. Under the shim the first waits hold their
 * worker until the monitor hands them off; then the stub is rewritten to
 * trap and its waits are handed off at once (rt/sitetrap.c). */
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define NT 4
#define ROUNDS 300

/* the program's own system-call stub (no libc) */
__attribute__((noinline)) static long raw4(long n, long a, long b, long c, long d)
{
	long ret;
	register long r10 __asm__("r10") = d;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}

static unsigned gen, arrived;
static long waits_eagain, sum;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void barrier(void)
{
	unsigned g = __atomic_load_n(&gen, __ATOMIC_ACQUIRE);
	if (__atomic_add_fetch(&arrived, 1, __ATOMIC_ACQ_REL) == NT) {
		__atomic_store_n(&arrived, 0, __ATOMIC_RELAXED);
		__atomic_add_fetch(&gen, 1, __ATOMIC_RELEASE);
		raw4(SYS_futex, (long)&gen, FUTEX_WAKE_PRIVATE, NT, 0);
		return;
	}
	while (__atomic_load_n(&gen, __ATOMIC_ACQUIRE) == g) {
		long r = raw4(SYS_futex, (long)&gen, FUTEX_WAIT_PRIVATE, g, 0);
		if (r == -11)  /* EAGAIN: it moved before we slept */
			__atomic_add_fetch(&waits_eagain, 1, __ATOMIC_RELAXED);
	}
}

static void *member(void *arg)
{
	long id = (long)arg, mine = 0;
	for (int r = 0; r < ROUNDS; r++) {
		mine += id * r;
		barrier();
	}
	pthread_mutex_lock(&mu);
	sum += mine;
	pthread_mutex_unlock(&mu);
	return NULL;
}

static volatile int ill_runs, ill_code;

static void on_ill(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	ucontext_t *uc = ucv;
	ill_runs++;
	ill_code = si->si_code;
	uc->uc_mcontext.gregs[REG_RIP] += 2;  /* over the ud2 */
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);  /* every thread blocks everything */
	pthread_t th[NT - 1];
	for (long i = 1; i < NT; i++)
		pthread_create(&th[i - 1], NULL, member, (void *)i);
	member((void *)0);
	for (int i = 0; i < NT - 1; i++)
		pthread_join(th[i], NULL);
	printf("%d threads met %d times; sum %ld\n", NT, ROUNDS, sum);
	long pp = raw4(SYS_getppid, 0, 0, 0, 0);
	printf("the same stub, getppid: %s\n", pp == getppid() ? "the parent's pid" : "wrong");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_ill;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGILL, &sa, NULL);
	__asm__ volatile("ud2");
	printf("ud2 of its own: SIGILL handler ran %d time(s), si_code %s\n", ill_runs,
	       ill_code == ILL_ILLOPN ? "ILL_ILLOPN" : "other");
	return 0;
}
