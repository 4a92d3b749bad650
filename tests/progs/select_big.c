/* select and pselect with nfds above FD_SETSIZE (1024): a program that
 * holds more fds allocates larger sets itself (arrays of longs), as the
 * kernel allows any nfds. Two threads: main waits on a pipe moved to fd
 * 1500; a second thread writes to it 30 ms later (and to a second pipe
 * at fd 1400 it never writes to). Then a wait that times out, a pselect
 * whose mask lets a pending SIGUSR1 in (EINTR, the sets as they were),
 * nfds far past the fd table (the kernel looks at the table's bits
 * only), a write set, and an fd at 2000 that is not open (EBADF).
 * Prints one line per call: the result, errno, and which fds are set in
 * the sets after it. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <unistd.h>

#define LB (8 * (int)sizeof(unsigned long))
#define NFDS 2048

static unsigned long rd[NFDS / LB], wr[NFDS / LB];

static void set(unsigned long *s, int fd) { s[fd / LB] |= 1UL << (fd % LB); }
static int isset(const unsigned long *s, int fd) { return s[fd / LB] >> (fd % LB) & 1; }

static void show(const char *what, int r, const unsigned long *s)
{
	printf("%-40s %d %s:", what, r, r < 0 ? strerrorname_np(errno) : "ok");
	for (int fd = 0; s && fd < NFDS; fd++)
		if (isset(s, fd))
			printf(" %d", fd);
	printf("\n");
	fflush(stdout);
}

static int wfd;

static void *writer(void *p)
{
	usleep(30000);
	write(wfd, "x", 1);
	return p;
}

static volatile int handled;
static void on_usr1(int s) { handled++; }

int main(void)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_max < NFDS + 8) {
		printf("hard fd limit %lu below %d: nothing to show\n", (unsigned long)rl.rlim_max, NFDS + 8);
		return 0;
	}
	rl.rlim_cur = NFDS + 8;
	setrlimit(RLIMIT_NOFILE, &rl);
	int p[2], q[2];
	pipe(p);
	pipe(q);
	dup2(p[0], 1500);
	dup2(q[0], 1400);
	close(p[0]);
	close(q[0]);
	wfd = p[1];

	pthread_t t;
	pthread_create(&t, NULL, writer, NULL);
	set(rd, 1400);
	set(rd, 1500);
	show("select, pipe at 1500 written 30ms later",
	     select(1501, (fd_set *)rd, NULL, NULL, NULL), rd);
	pthread_join(t, NULL);
	char c;
	read(1500, &c, 1);

	memset(rd, 0, sizeof(rd));
	set(rd, 1400);
	set(rd, 1500);
	struct timeval tv = { 0, 50000 };
	show("select, nothing for 50ms", select(1501, (fd_set *)rd, NULL, NULL, &tv), rd);
	printf("  time left %ld us\n", tv.tv_sec * 1000000 + tv.tv_usec);

	struct sigaction sa = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t block, open;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &open);
	raise(SIGUSR1);
	memset(rd, 0, sizeof(rd));
	set(rd, 1400);
	set(rd, 1500);
	struct timespec ts = { 5, 0 };
	show("pselect letting a pending SIGUSR1 in",
	     pselect(1501, (fd_set *)rd, NULL, NULL, &ts, &open), rd);
	printf("  handler ran %d time(s)\n", handled);

	/* nfds past the fd table: the kernel looks at the table's bits only
	 * (these sets are 2048 bits, the table as large) */
	write(wfd, "y", 1);
	memset(rd, 0, sizeof(rd));
	set(rd, 1400);
	set(rd, 1500);
	show("select, nfds 100000", select(100000, (fd_set *)rd, NULL, NULL, NULL), rd);
	read(1500, &c, 1);

	dup2(p[1], 1600);
	set(wr, 1600);
	show("select, write set, fd 1600", select(1601, NULL, (fd_set *)wr, NULL, NULL), wr);

	memset(rd, 0, sizeof(rd));
	set(rd, 2000);
	tv = (struct timeval){ 1, 0 };
	show("select, fd 2000 not open", select(2001, (fd_set *)rd, NULL, NULL, &tv), rd);
	return 0;
}
