/* The BSD and System V signal-mask calls (sigsetmask, sigblock,
 * siggetmask, sighold, sigrelse, sigignore, sigset, sigpause) change the
 * same mask sigprocmask does. glibc makes them with its internal
 * sigprocmask, sigaction and sigsuspend, which a preloaded library does
 * not see. dash blocks every signal with sigprocmask around a vfork and
 * clears the mask with sigsetmask(0): under the shim its mask then stayed
 * all blocked, and every child it forked later started so (`cmake
 * --build` in a pipeline waited for ever for SIGCHLD). Printed: what
 * each call answers, whether a SIGUSR1 sent to the process runs its
 * handler, and the blocked set a child sees after fork and exec. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void on_usr1(int s)
{
	(void)s;
	got++;
}

static int blocked(int sig)
{
	sigset_t s;
	sigprocmask(SIG_BLOCK, NULL, &s);
	return sigismember(&s, sig);
}

static void child_mask(const char *when)
{
	printf("%s: ", when);
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		execl("/bin/grep", "grep", "SigBlk", "/proc/self/status", (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(p, &st, 0);
}

int main(void)
{
	signal(SIGUSR1, on_usr1);

	/* dash's vforkexec: everything blocked around the vfork, then
	 * sigsetmask(0) in the child and in the parent */
	sigset_t all;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	pid_t p = vfork();
	if (p == 0) {
		sigsetmask(0);
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	sigsetmask(0);
	int st;
	waitpid(p, &st, 0);
	printf("after sigsetmask(0): SIGINT blocked %d, SIGCHLD blocked %d\n", blocked(SIGINT),
	       blocked(SIGCHLD));
	kill(getpid(), SIGUSR1);
	printf("SIGUSR1 handled: %d\n", (int)got);
	child_mask("a child forked then");

	/* sigblock, siggetmask, sigsetmask answer the mask before */
	int old = sigblock(1 << (SIGUSR1 - 1) | 1 << (SIGHUP - 1));
	printf("sigblock: old %#x, now %#x, USR1 blocked %d\n", old, sigblock(0), blocked(SIGUSR1));
	kill(getpid(), SIGUSR1);
	printf("SIGUSR1 while blocked, handled: %d\n", (int)got);
	old = sigsetmask(0);
	printf("sigsetmask(0): old %#x; SIGUSR1 handled: %d\n", old, (int)got);

	/* System V */
	sighold(SIGUSR1);
	kill(getpid(), SIGUSR1);
	printf("sighold: USR1 blocked %d, handled %d\n", blocked(SIGUSR1), (int)got);
	sigrelse(SIGUSR1);
	printf("sigrelse: USR1 blocked %d, handled %d\n", blocked(SIGUSR1), (int)got);
	sigignore(SIGUSR2);
	kill(getpid(), SIGUSR2);
	struct sigaction sa;
	sigaction(SIGUSR2, NULL, &sa);
	printf("sigignore: SIGUSR2 ignored %d (still alive)\n", sa.sa_handler == SIG_IGN);
	__sighandler_t prev = sigset(SIGUSR1, SIG_HOLD);
	printf("sigset(SIG_HOLD): previous is on_usr1 %d, USR1 blocked %d\n", prev == on_usr1,
	       blocked(SIGUSR1));
	kill(getpid(), SIGUSR1);
	prev = sigset(SIGUSR1, on_usr1);
	printf("sigset(on_usr1): previous SIG_HOLD %d, USR1 blocked %d, handled %d\n",
	       prev == SIG_HOLD, blocked(SIGUSR1), (int)got);

	/* sigpause (X/Open's with _GNU_SOURCE): waits with the signal let
	 * in; it is pending already, so it returns at once */
	sighold(SIGUSR1);
	kill(getpid(), SIGUSR1);
	int r = sigpause(SIGUSR1);
	printf("sigpause: %d, handled %d, USR1 blocked after %d\n", r, (int)got, blocked(SIGUSR1));
	sigrelse(SIGUSR1);
	child_mask("a child forked at the end");
	return 0;
}
