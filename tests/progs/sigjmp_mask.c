/* sigjmp_mask: the mask sigsetjmp(env, 1) saves is the calling thread's,
 * and siglongjmp puts it back; sigsetjmp(env, 0) and _setjmp save none,
 * glibc's setjmp (the function, not the macro) saves it as BSD did. The
 * cases run in a second thread that blocks more than the main thread
 * (parked in pthread_join with nothing blocked): under the shim the worker
 * thread's kernel mask is only what every task blocks, and glibc reads and
 * sets the mask with its own system call. A sigsetjmp inside a handler
 * saves the handler's mask (its signal and sa_mask); a jump out of the
 * handler to an outer sigsetjmp puts back the outer mask. Prints each
 * mask; the output must be the same natively and under the shim. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* glibc's _FORTIFY_SOURCE form of longjmp, called directly */
extern void __longjmp_chk(struct __jmp_buf_tag env[1], int val) __attribute__((__noreturn__));

static void show(const char *what)
{
	sigset_t s;
	pthread_sigmask(SIG_BLOCK, NULL, &s);
	printf("%-44s", what);
	int any = 0;
	for (int sig = 1; sig < 65; sig++) {
		if (sig == 32 || sig == 33)
			continue;
		if (sigismember(&s, sig) == 1) {
			printf(" %d", sig);
			any = 1;
		}
	}
	printf("%s\n", any ? "" : " (none)");
	fflush(stdout);
}

static void mask(int how, int a, int b)
{
	sigset_t s;
	sigemptyset(&s);
	if (a)
		sigaddset(&s, a);
	if (b)
		sigaddset(&s, b);
	pthread_sigmask(how, &s, NULL);
}

static sigjmp_buf outer, inner;
static volatile int handled;

static void on_usr2(int sig)
{
	(void)sig;
	handled++;
	show("handler: its mask");
	if (sigsetjmp(inner, 1) == 0) {
		mask(SIG_SETMASK, SIGINT, 0);
		show("handler: SIG_SETMASK {INT}");
		siglongjmp(inner, 1);
	}
	show("handler: after siglongjmp to its sigsetjmp");
	siglongjmp(outer, 1);
}

static void *cases(void *arg)
{
	(void)arg;
	static sigjmp_buf env;
	static jmp_buf jb;
	static volatile int n;

	mask(SIG_SETMASK, SIGUSR1, 0);
	show("thread: start");

	/* sigsetjmp(env, 1): the mask comes back */
	n = 0;
	if (sigsetjmp(env, 1) == 0) {
		mask(SIG_UNBLOCK, SIGUSR1, 0);
		mask(SIG_BLOCK, SIGTERM, 0);
		show("savemask 1: changed");
		siglongjmp(env, 1);
	}
	show("savemask 1: after siglongjmp");

	/* the same buffer with longjmp and __longjmp_chk */
	if (sigsetjmp(env, 1) == 0) {
		mask(SIG_SETMASK, SIGQUIT, 0);
		longjmp(env, 1);
	}
	show("savemask 1: after longjmp");
	if (sigsetjmp(env, 1) == 0) {
		mask(SIG_SETMASK, SIGALRM, 0);
		__longjmp_chk(env, 1);
	}
	show("savemask 1: after __longjmp_chk");

	/* sigsetjmp(env, 0) into a buffer that saved a mask before: none */
	if (sigsetjmp(env, 0) == 0) {
		mask(SIG_BLOCK, SIGTERM, 0);
		siglongjmp(env, 1);
	}
	show("savemask 0: after siglongjmp (kept)");
	mask(SIG_SETMASK, SIGUSR1, 0);

	/* _setjmp (the setjmp macro): none */
	if (setjmp(jb) == 0) {
		mask(SIG_BLOCK, SIGTERM, 0);
		longjmp(jb, 1);
	}
	show("_setjmp: after longjmp (kept)");
	mask(SIG_SETMASK, SIGUSR1, 0);

	/* glibc's setjmp function: saves the mask */
	if ((setjmp)(jb) == 0) {
		mask(SIG_SETMASK, SIGTERM, 0);
		longjmp(jb, 1);
	}
	show("setjmp (function): after longjmp");

	/* twice from the same sigsetjmp: each return puts back its mask */
	n = 0;
	if (sigsetjmp(env, 1) < 3) {
		n++;
		mask(n == 1 ? SIG_UNBLOCK : SIG_BLOCK, n == 1 ? SIGUSR1 : SIGHUP, 0);
		if (n < 3)
			siglongjmp(env, n + 1);
	}
	show("twice: after the second siglongjmp");
	mask(SIG_SETMASK, SIGUSR1, 0);

	/* a handler: sigsetjmp inside it saves its mask; a jump out of it
	 * puts back the outer one */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGHUP);
	sigaction(SIGUSR2, &sa, NULL);
	if (sigsetjmp(outer, 1) == 0) {
		pthread_kill(pthread_self(), SIGUSR2);
		printf("handler did not jump\n");
	}
	show("after the jump out of the handler");
	printf("handled %d\n", handled);
	return NULL;
}

int main(void)
{
	show("main: start");
	pthread_t th;
	pthread_create(&th, NULL, cases, NULL);
	pthread_join(th, NULL);
	show("main: end");
	return 0;
}
