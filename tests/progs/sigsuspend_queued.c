/* sigsuspend with signals already pending: a real-time signal queued 3
 * times runs its handler once there (the kernel's frame blocks it while
 * the handler runs, and its sigreturn puts back the mask sigsuspend
 * replaced), the other two once the program unblocks it; two different
 * pending signals both run there; with SA_NODEFER all three queued ones
 * do. Once alone, once with a second thread (which blocks them too).
 * Before, under the shim, the mask went back to sigsuspend's between
 * handlers, and all three queued ones ran inside sigsuspend. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile int rt, usr1, usr2;

static void on_rt(int s)
{
	(void)s;
	rt++;
}

static void on_usr(int s)
{
	if (s == SIGUSR1)
		usr1++;
	else
		usr2++;
}

static void *idle(void *p)
{
	usleep(200000);
	return p;
}

static void handle(int sig, void (*h)(int), int flags)
{
	struct sigaction sa = { .sa_handler = h, .sa_flags = flags };
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void round_(const char *what, int flags)
{
	int sig = SIGRTMIN + 1;
	sigset_t s, old;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	handle(sig, on_rt, flags);
	rt = usr1 = usr2 = 0;
	pthread_sigmask(SIG_BLOCK, &s, &old);
	for (int i = 0; i < 3; i++)
		sigqueue(getpid(), sig, (union sigval){ .sival_int = i });
	int r = sigsuspend(&old);
	printf("%s: 3 queued, sigsuspend %d %s, handlers %d\n", what, r, strerrorname_np(errno), rt);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	printf("%s:   after the unblock, handlers %d\n", what, rt);
	pthread_sigmask(SIG_BLOCK, &s, &old);
	kill(getpid(), SIGUSR1);
	kill(getpid(), SIGUSR2);
	r = sigsuspend(&old);
	printf("%s: SIGUSR1 and SIGUSR2 pending, sigsuspend %d, handlers %d %d\n", what, r, usr1,
	       usr2);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	fflush(stdout);
}

int main(void)
{
	handle(SIGUSR1, on_usr, 0);
	handle(SIGUSR2, on_usr, 0);
	round_("alone", 0);
	round_("alone, SA_NODEFER", SA_NODEFER);
	sigset_t s, old;
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN + 1);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &s, &old);
	pthread_t t;
	pthread_create(&t, NULL, idle, NULL);  /* blocks them: inherited */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	round_("2 threads", 0);
	pthread_join(t, NULL);
	return 0;
}
