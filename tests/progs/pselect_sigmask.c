/* GNU make's wait for its children: SIGCHLD is blocked, and pselect()
 * waits on a pipe with a mask that unblocks it, so a child that ended
 * before or during the wait cuts pselect short with EINTR and its handler
 * runs. Here the child has ended before the call: natively pselect
 * returns -1 EINTR at once. A pselect that ignores its mask argument
 * waits for its timeout (5 s here; make passes none and hangs). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got;
static void on_chld(int s) { (void)s; got = 1; }

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, NULL);
	sigset_t block, empty;
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigemptyset(&empty);

	int p[2];
	pipe(p);
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	/* Wait until the child is a zombie: SIGCHLD is now pending. */
	siginfo_t si;
	waitid(P_PID, pid, &si, WEXITED | WNOWAIT);

	fd_set r;
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	struct timespec ts = { 5, 0 }, t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int n = pselect(p[0] + 1, &r, NULL, NULL, &ts, &empty);
	int e = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("pselect with SIGCHLD pending and unblocked by its mask: %d %s\n", n,
	       n < 0 ? strerrorname_np(e) : "");
	printf("SIGCHLD handler ran during pselect: %s\n", got ? "yes" : "no");
	printf("returned %s\n", s < 1 ? "at once" : "only at its 5 s timeout");
	waitpid(pid, NULL, 0);
	return 0;
}
