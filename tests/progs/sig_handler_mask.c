/* A handler's signal mask, as SBCL's runtime uses it: while a handler
 * runs, the thread's mask (pthread_sigmask) has the action's sa_mask and
 * the signal itself added, also for a trap (int3: SIGTRAP, which SBCL's
 * pseudo-atomic sections end with; its handler dies of "blockables
 * unblocked" otherwise); and a mask the handler writes into its
 * ucontext_t's uc_sigmask is the thread's once it returns, as sigreturn
 * sets it (SBCL blocks the signals it defers so until it handles them).
 * In a thread parked in sem_wait (pthread_kill) and in one that traps
 * itself. */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static sem_t parked, done;
static volatile int seen_usr2, seen_self, seen_hup;
static volatile int ran;

static void on_signal(int sig, siginfo_t *si, void *ucv)
{
	(void)si;
	ucontext_t *uc = ucv;
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	seen_usr2 = sigismember(&cur, SIGUSR2);
	seen_self = sigismember(&cur, sig);
	seen_hup = sigismember(&cur, SIGHUP);
	sigaddset(&uc->uc_sigmask, SIGALRM);  /* blocked once it returns */
	ran++;
}

static void report(const char *what)
{
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	printf("%s: handler ran %d; inside it blocked: sa_mask's SIGUSR2 %s, the signal %s, SIGHUP %s; "
	       "after it SIGALRM blocked %s\n",
	       what, ran, seen_usr2 ? "yes" : "no", seen_self ? "yes" : "no", seen_hup ? "yes" : "no",
	       sigismember(&cur, SIGALRM) ? "yes" : "no");
}

static void *parked_thread(void *x)
{
	(void)x;
	while (sem_wait(&parked))
		;
	report("SIGUSR1 by pthread_kill to a thread in sem_wait");
	sem_post(&done);
	return NULL;
}

static void *trapping_thread(void *x)
{
	(void)x;
	__asm__ volatile("int3");  /* the handler returns past it */
	report("SIGTRAP of its own int3");
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTRAP, &sa, NULL);
	sem_init(&parked, 0, 0);
	sem_init(&done, 0, 0);

	pthread_t t;
	pthread_create(&t, NULL, parked_thread, NULL);
	pthread_kill(t, SIGUSR1);  /* in sem_wait, or before it: either way first */
	sem_post(&parked);
	while (sem_wait(&done))
		;
	pthread_join(t, NULL);

	ran = 0;
	pthread_create(&t, NULL, trapping_thread, NULL);
	pthread_join(t, NULL);
	return 0;
}
