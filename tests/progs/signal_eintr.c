/* A signal whose handler was installed without SA_RESTART cuts a blocking
 * call short: the handler runs, then the call returns -1 EINTR (sleeps
 * report what was left). Python's signal and selectors tests, and its
 * socket.sendall, rely on it. For each call: main blocks in it, and a
 * helper thread sends main SIGALRM with pthread_kill 200 ms later; the
 * helper ends the wait anyway after 3 s (by making the fd ready) so the
 * program always finishes. Natively every line reads "-1 EINTR, handler
 * ran, at once". */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static void on_alrm(int s) { (void)s; handled++; }
static pthread_t main_thread;
static int rfd, wfd;        /* the pair the call waits on */
static int release;         /* 1: write a byte to wfd; 2: read from rfd */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *helper(void *x)
{
	(void)x;
	usleep(200000);
	pthread_kill(main_thread, SIGALRM);
	usleep(3000000);
	if (release == 1) {
		(void)!write(wfd, "x", 1);
	} else if (release == 2) {
		char b[65536];
		int fl = fcntl(rfd, F_GETFL);
		fcntl(rfd, F_SETFL, fl | O_NONBLOCK);
		while (read(rfd, b, sizeof(b)) > 0)
			;
		fcntl(rfd, F_SETFL, fl);
	}
	return NULL;
}

static void report(const char *what, long r, int e, double t0)
{
	double dt = now() - t0;
	printf("%-34s %ld %s, handler %s, %s\n", what, r, r < 0 ? strerrorname_np(e) : "",
	       handled ? "ran" : "did not run", dt < 2 ? "at once" : "after the 3 s release");
	handled = 0;
}

static void one(const char *what, int kind)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	rfd = sv[0];
	wfd = sv[1];
	release = kind == 4 ? 2 : 1;
	if (kind == 4) {  /* fill the socket so that a write blocks */
		int fl = fcntl(wfd, F_GETFL);
		fcntl(wfd, F_SETFL, fl | O_NONBLOCK);
		char b[4096] = { 0 };
		while (write(wfd, b, sizeof(b)) > 0)
			;
		fcntl(wfd, F_SETFL, fl);
		rfd = sv[0];
	}
	pthread_t h;
	pthread_create(&h, NULL, helper, NULL);
	double t0 = now();
	long r = 0;
	char c;
	struct pollfd pf = { rfd, POLLIN, 0 };
	fd_set set;
	switch (kind) {
	case 0: r = read(rfd, &c, 1); break;
	case 1: r = poll(&pf, 1, -1); break;
	case 2:
		FD_ZERO(&set);
		FD_SET(rfd, &set);
		r = select(rfd + 1, &set, NULL, NULL, NULL);
		break;
	case 3: {
		struct timespec ts = { 3, 500000000 }, rem = { 0, 0 };
		release = 0;
		r = nanosleep(&ts, &rem);
		break;
	}
	case 4: {
		char b[4096] = { 0 };
		r = write(wfd, b, sizeof(b));
		break;
	}
	}
	int e = errno;
	report(what, r, e, t0);
	pthread_join(h, NULL);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alrm;  /* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	main_thread = pthread_self();
	one("read on an empty socket:", 0);
	one("poll with no timeout:", 1);
	one("select with no timeout:", 2);
	one("nanosleep of 3.5 s:", 3);
	one("write to a full socket:", 4);
	return 0;
}
