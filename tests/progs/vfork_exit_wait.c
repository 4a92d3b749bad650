/* Waits for vfork children that leave by _exit, while a second thread
 * exists (blocked in a read): the child is gone from its parent's memory
 * when vfork returns, but may not be a zombie yet.
 *   vfork_exit_wait [loop N]
 * Without arguments, each case prints its answers:
 *   waitpid, wait4 (with rusage), waitid(P_PID), waitpid(-1) after vfork +
 *   _exit or _Exit, the exit status checked each round; WNOHANG at once,
 *   then a blocking waitpid; a child reaped by another thread first (the
 *   waitpid then says ECHILD); SIGCHLD ignored (the kernel reaps: ECHILD);
 *   a SIGCHLD handler without SA_RESTART (the waits return their
 *   children, no EINTR); a fork after a vfork child that nobody waited
 *   for (the fork's child is waited for normally, it sleeps 50 ms
 *   first).
 * `loop N`: only N rounds of vfork + _exit + waitpid (the shim's stats
 * show how each wait waited). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int pfd[2];

static void *idle(void *x)
{
	char c;
	while (read(pfd[0], &c, 1) < 0)
		;
	return x;
}

static pid_t child(int code, int how)
{
	pid_t pid = vfork();
	if (pid == 0) {
		if (how)
			_Exit(code);
		_exit(code);
	}
	return pid;
}

static void rounds(const char *name, int n, int kind)
{
	int good = 0;
	for (int i = 0; i < n; i++) {
		int code = i % 200, st = 0;
		pid_t pid = child(code, i & 1), got = -1;
		if (kind == 0) {
			got = waitpid(pid, &st, 0);
		} else if (kind == 1) {
			struct rusage ru;
			got = wait4(pid, &st, 0, &ru);
		} else if (kind == 2) {
			siginfo_t si = { 0 };
			if (waitid(P_PID, (id_t)pid, &si, WEXITED) == 0 && si.si_code == CLD_EXITED) {
				got = si.si_pid;
				st = si.si_status << 8;
			}
		} else {
			got = waitpid(-1, &st, 0);
		}
		good += got == pid && WIFEXITED(st) && WEXITSTATUS(st) == code;
	}
	printf("%-36s %d of %d right\n", name, good, n);
}

static volatile sig_atomic_t chld_runs;

static void on_chld(int sig)
{
	(void)sig;
	chld_runs++;
}

/* A SIGCHLD handler installed without SA_RESTART: the wait for the child
 * whose exit sent it returns the child (the kernel looks at the children
 * before it looks at signals), it never fails with EINTR. */
static void chld_handler_rounds(void)
{
	struct sigaction sa = { 0 };
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, NULL);
	int vgood = 0, fgood = 0, eintr = 0;
	for (int i = 0; i < 300; i++) {
		int st = 0;
		pid_t pid = child(3, 0), got = waitpid(pid, &st, 0);
		vgood += got == pid && WEXITSTATUS(st) == 3;
		if (got < 0 && errno == EINTR) {
			eintr++;
			waitpid(pid, &st, 0);
		}
	}
	for (int i = 0; i < 40; i++) {
		int st = 0;
		pid_t pid = fork();
		if (pid == 0) {
			struct timespec ts = { 0, (1 + i % 3) * 1000000 };
			nanosleep(&ts, NULL);
			_exit(4);
		}
		pid_t got = waitpid(pid, &st, 0);
		fgood += got == pid && WEXITSTATUS(st) == 4;
		if (got < 0 && errno == EINTR) {
			eintr++;
			waitpid(pid, &st, 0);
		}
	}
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	printf("SIGCHLD handler without SA_RESTART: vfork %d of 300, fork %d of 40 returned the child, "
	       "%d EINTR, handler ran: %s\n", vgood, fgood, eintr, chld_runs ? "yes" : "no");
}

static void *reap_any(void *x)
{
	int st = 0;
	pid_t got = waitpid(-1, &st, 0);
	*(int *)x = got > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	if (pipe(pfd) || pthread_create(&t, NULL, idle, NULL))
		return 1;
	if (argc > 2 && !strcmp(argv[1], "loop")) {
		int n = atoi(argv[2]), good = 0;
		for (int i = 0; i < n; i++) {
			int st = 0;
			pid_t pid = child(7, 0);
			good += waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7;
		}
		printf("loop: %d of %d right\n", good, n);
	} else {
		rounds("waitpid after vfork + _exit:", 100, 0);
		rounds("wait4 with rusage:", 100, 1);
		rounds("waitid(P_PID):", 100, 2);
		rounds("waitpid(-1):", 100, 3);

		int st = 0;
		pid_t pid = child(9, 0), first = waitpid(pid, &st, WNOHANG);
		if (first == 0)
			first = waitpid(pid, &st, 0);
		printf("WNOHANG, then waiting: %s, exit %d\n", first == pid ? "the child" : "?",
		       WEXITSTATUS(st));

		int other = 0;
		pid = child(11, 0);
		pthread_t r;
		pthread_create(&r, NULL, reap_any, &other);
		pthread_join(r, NULL);
		errno = 0;
		pid_t again = waitpid(pid, &st, 0);
		printf("reaped by another thread (exit %d): waitpid says %d %s\n", other, (int)again,
		       strerror(errno));

		chld_handler_rounds();

		signal(SIGCHLD, SIG_IGN);
		pid = child(13, 0);
		errno = 0;
		again = waitpid(pid, &st, 0);
		printf("SIGCHLD ignored: waitpid says %d %s\n", (int)again, strerror(errno));
		signal(SIGCHLD, SIG_DFL);

		/* a vfork child nobody waits for by its pid, then a fork */
		pid = child(15, 0);
		while (waitpid(-1, &st, 0) != pid)
			;
		pid_t f = fork();
		if (f == 0) {
			struct timespec ts = { 0, 50 * 1000000 };
			nanosleep(&ts, NULL);
			_exit(17);
		}
		st = 0;
		again = waitpid(f, &st, 0);
		printf("a fork afterwards: %s, exit %d\n", again == f ? "the child" : "?",
		       WEXITSTATUS(st));
	}
	close(pfd[1]);
	pthread_join(t, NULL);
	return 0;
}
