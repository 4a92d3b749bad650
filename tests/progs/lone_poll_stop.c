/* lone_poll_stop: a single-threaded process in poll(), ppoll() and
 * select() with a 600 ms timeout is stopped (SIGSTOP) 100 ms in and
 * continued 300 ms later, as a shell's job is by ^Z and fg. The kernel
 * restarts poll with its end kept (restart_syscall): it ends at 600 ms.
 * ppoll and select restart with the time they had left when stopped
 * (written back into their timeout): the stop's 300 ms is added.
 * Under the shim the process's only task makes the kernel's own call
 * (rt/lonewait.c); made as ppoll for every form, poll took 900 ms.
 * Prints each wait's result and whether it ended on time (before 750 ms)
 * or with the stop added. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long ms_since(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

int main(void)
{
	int p[2];
	if (pipe(p))
		return 1;
	const char *names[] = { "poll", "ppoll", "select" };
	for (int k = 0; k < 3; k++) {
		pid_t c = fork();
		if (c == 0) {
			pid_t parent = getppid();
			usleep(100000);
			kill(parent, SIGSTOP);
			usleep(300000);
			kill(parent, SIGCONT);
			_exit(0);
		}
		struct pollfd pf = { p[0], POLLIN, 0 };
		struct timespec ts = { 0, 600000000 }, t0;
		struct timeval tv = { 0, 600000 };
		fd_set rs;
		FD_ZERO(&rs);
		FD_SET(p[0], &rs);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		int r = k == 0 ? poll(&pf, 1, 600)
		      : k == 1 ? ppoll(&pf, 1, &ts, NULL)
			       : select(p[0] + 1, &rs, NULL, NULL, &tv);
		long ms = ms_since(&t0);
		printf("%s: %d (errno %d), %s\n", names[k], r, r < 0 ? errno : 0,
		       ms < 750 ? "on time" : "the stop added");
		waitpid(c, NULL, 0);
	}
	return 0;
}
