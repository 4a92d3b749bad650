/* lone_poll: a single-threaded process (and its forked child) waiting in
 * poll, select, epoll_wait and their masked forms, as PostgreSQL's
 * backends do. Under the shim a process's only task waits in the kernel
 * itself (rt/lonewait.c); what the program sees must not change:
 *   - timeouts: a wait on an empty pipe ends with 0 after its time;
 *   - data: a wait ends with the fd ready when the child writes;
 *   - signals: SIGUSR1 is blocked except inside ppoll, pselect and
 *     epoll_pwait; the child sends it ROUNDS times, each after the parent
 *     said it is about to wait. Natively every such wait ends with EINTR
 *     after the handler ran. Under the shim the signal often lands while
 *     the runtime is between its last look and the kernel: a lost one
 *     hangs the wait (the alarm then ends the run).
 * Prints counts only, the same natively and under the shim. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 3000

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

/* One wait of kind k on fd for ms (-1: none), SIGUSR1 unblocked inside
 * when masked: the call's result, -1 with errno set on failure. */
static int wait_one(int k, int fd, int ms, int ep, int masked)
{
	sigset_t open;
	sigemptyset(&open);
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	switch (k) {
	case 0: {
		struct pollfd p = { fd, POLLIN, 0 };
		return masked ? ppoll(&p, 1, ms < 0 ? NULL : &ts, &open) : poll(&p, 1, ms);
	}
	case 1: {
		fd_set r;
		FD_ZERO(&r);
		FD_SET(fd, &r);
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		return masked ? pselect(fd + 1, &r, NULL, NULL, ms < 0 ? NULL : &ts, &open)
			      : select(fd + 1, &r, NULL, NULL, ms < 0 ? NULL : &tv);
	}
	default: {
		struct epoll_event ev;
		return masked ? epoll_pwait(ep, &ev, 1, ms, &open) : epoll_wait(ep, &ev, 1, ms);
	}
	}
}

static volatile sig_atomic_t handled2;

/* In a child: until the parent sleeps (state S in /proc; it does nothing
 * else at that point), at most 20 s. */
static void until_asleep(pid_t parent)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)parent);
	for (int i = 0; i < 100000; i++) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
		if (f)
			fclose(f);
		buf[n] = 0;
		char *e = strrchr(buf, ')');
		if (e && e[1] == ' ' && e[2] == 'S')
			return;
		usleep(200);
	}
}

static void on_usr2(int sig)
{
	(void)sig;
	handled2++;
}

/* The child sends SIGUSR2 once its parent sleeps (in waitpid: it does
 * nothing else), then exits 3 after 50 ms. */
static void waitpid_round(int restart)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGUSR2, &sa, NULL);
	handled2 = 0;
	pid_t parent = getpid(), child = fork();
	if (child == 0) {
		until_asleep(parent);
		kill(parent, SIGUSR2);
		usleep(50000);
		_exit(3);
	}
	int st = 0;
	pid_t r = waitpid(child, &st, 0);
	int e = errno;
	printf("waitpid, handler %s SA_RESTART: %s, handler runs %d", restart ? "with" : "without",
	       r == child ? "the child" : r < 0 && e == EINTR ? "EINTR" : "other", (int)handled2);
	if (r != child)
		r = waitpid(child, &st, 0);
	printf(", then %s, exit %d\n", r == child ? "the child" : "other", WEXITSTATUS(st));
}

/* sigsuspend with SIGUSR1 let in (it is blocked otherwise), then pause
 * with SIGUSR2 (its handler without SA_RESTART): a child sends the signal
 * once the parent sleeps. Natively each returns -1 EINTR after one run
 * of the handler (dash's `wait`, a daemon's pause). */
static pid_t signal_when_asleep(int sig)
{
	pid_t parent = getpid(), child = fork();
	if (child != 0)
		return child;
	until_asleep(parent);
	kill(parent, sig);
	_exit(0);
}

static void suspend_rounds(void)
{
	sigset_t none;
	sigemptyset(&none);
	handled = 0;
	pid_t c = signal_when_asleep(SIGUSR1);
	int r = sigsuspend(&none);
	int e = errno;
	waitpid(c, NULL, 0);
	printf("sigsuspend: %d %s, handler runs %d\n", r, e == EINTR ? "EINTR" : "other", (int)handled);
	handled2 = 0;
	c = signal_when_asleep(SIGUSR2);
	r = pause();
	e = errno;
	waitpid(c, NULL, 0);
	printf("pause: %d %s, handler runs %d\n", r, e == EINTR ? "EINTR" : "other", (int)handled2);
}

static const char *const names[] = { "poll", "select", "epoll_wait" };

int main(void)
{
	int data[2], ready[2];
	if (pipe(data) || pipe(ready))
		return 1;
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = data[0] };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, data[0], &ev))
		return 1;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	alarm(60);

	for (int k = 0; k < 3; k++) {
		/* timeouts: an empty pipe, 5 waits of 20 ms */
		int zeros = 0;
		for (int i = 0; i < 5; i++)
			zeros += wait_one(k, data[0], 20, ep, 0) == 0;
		/* data from a child, then the signal rounds */
		pid_t child = fork();
		if (child == 0) {
			struct timespec d = { 0, 30 * 1000000L };
			nanosleep(&d, NULL);
			if (write(data[1], "x", 1) != 1)
				_exit(1);
			char c;
			for (int i = 0; i < ROUNDS; i++) {
				if (read(ready[0], &c, 1) != 1)
					_exit(1);
				kill(getppid(), SIGUSR1);
			}
			_exit(0);
		}
		int got = wait_one(k, data[0], -1, ep, 0);
		char c;
		int r = read(data[0], &c, 1);
		printf("%s: %d timeouts of 5, then data: %d (%d byte)\n", names[k], zeros, got, r);
		int eintr = 0, other = 0;
		handled = 0;
		for (int i = 0; i < ROUNDS; i++) {
			if (write(ready[1], "r", 1) != 1)
				return 1;
			int w = wait_one(k, data[0], -1, ep, 1);
			if (w < 0 && errno == EINTR)
				eintr++;
			else
				other++;
		}
		int st = 0;
		waitpid(child, &st, 0);
		printf("%s with a mask: %d EINTR, %d other, %d handler runs, child exit %d\n", names[k],
		       eintr, other, (int)handled, WEXITSTATUS(st));
	}
	waitpid_round(0);
	waitpid_round(1);
	suspend_rounds();
	FILE *s = fopen("/proc/self/status", "r");
	char line[256];
	while (s && fgets(line, sizeof(line), s))
		if (!strncmp(line, "Threads:", 8))
			fputs(line, stdout);
	return 0;
}
