/* siglongjmp_wait: a SIGALRM handler that leaves with siglongjmp to a
 * sigsetjmp(buf, 1) taken before a wait (poll, read, nanosleep, waitpid,
 * select), three times in a row for each, as programs that bound a call
 * with alarm() do. siglongjmp puts back the mask sigsetjmp saved, which
 * unblocks SIGALRM again (the handler ran with it blocked); glibc makes
 * that change with its internal sigprocmask, which no preload reaches.
 * Under the shim the task's mask kept SIGALRM blocked after the first
 * jump: the next alarm stayed queued and each later wait ran its full
 * 3 s ("not interrupted"). With an argument, a second thread exists
 * (SIGALRM blocked, in pause()): the process is no longer one task and
 * its waits park. "spin" has the handler entered where the main task
 * runs its own code.
 * Prints the outcome of each wait (the same natively and under the shim). */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static sigjmp_buf jb;

static void jump(int sig)
{
	siglongjmp(jb, sig);
}

static void *idle(void *arg)
{
	for (;;)
		pause();
	return arg;
}

static void arm(long us)
{
	struct itimerval it = { { 0, 0 }, { us / 1000000, us % 1000000 } };
	setitimer(ITIMER_REAL, &it, 0);
}

static void busy_until_alarm(void)
{
	for (volatile unsigned long i = 0; i < 4000000000UL; i++)
		;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int p[2];
	if (pipe(p))
		return 1;
	if (argc > 1) {
		/* the thread blocks SIGALRM: the main thread takes it */
		sigset_t alrm;
		sigemptyset(&alrm);
		sigaddset(&alrm, SIGALRM);
		pthread_sigmask(SIG_BLOCK, &alrm, NULL);
		pthread_t t;
		pthread_create(&t, NULL, idle, NULL);
		pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	}
	struct sigaction sa = { .sa_handler = jump };
	sigaction(SIGALRM, &sa, NULL);
	const char *names[] = { "poll", "read", "nanosleep", "waitpid", "select", "spin" };
	for (int k = 0; k < 6; k++) {
		int jumps = 0;
		for (int rep = 0; rep < 3; rep++) {
			pid_t c = -1;
			if (k == 3) {
				c = fork();
				if (c == 0) {
					pause();
					_exit(0);
				}
			}
			if (sigsetjmp(jb, 1) == 0) {
				arm(50000);
				struct pollfd pf = { p[0], POLLIN, 0 };
				struct timespec d = { 3, 0 };
				fd_set rs;
				FD_ZERO(&rs);
				FD_SET(p[0], &rs);
				char b[8];
				int st;
				switch (k) {
				case 0: poll(&pf, 1, 3000); break;
				case 1: if (read(p[0], b, sizeof b)) {} break;
				case 2: nanosleep(&d, NULL); break;
				case 3: waitpid(c, &st, 0); break;
				case 4: select(p[0] + 1, &rs, NULL, NULL, NULL); break;
				case 5: busy_until_alarm(); break;
				}
				printf("%s: not interrupted\n", names[k]);
			} else {
				jumps++;
			}
			if (c > 0) {
				kill(c, SIGKILL);
				waitpid(c, NULL, 0);
			}
		}
		printf("%s: %d jumps out of 3\n", names[k], jumps);
	}
	sigset_t now;
	sigprocmask(SIG_BLOCK, NULL, &now);
	printf("SIGALRM blocked at the end: %d\n", sigismember(&now, SIGALRM));
	return 0;
}
