/* Blocking splice and tee between pipes and sockets (Rust's
 * std::io::copy splices between a socket and a pipe). Each case's call
 * must wait for a ticker thread that feeds or drains the fd in the way
 * after ticking 3 times: run on one worker without the monitor, a splice
 * that blocked the worker would never see the ticker's bytes (a hang,
 * ended by the alarm). Prints what each call returned, the bytes moved,
 * and whether the ticker ran meanwhile; then a splice with
 * SPLICE_F_NONBLOCK (EAGAIN at once), one on a socket with SO_RCVTIMEO
 * (EAGAIN after it), and one a signal handler without SA_RESTART cuts
 * short (EINTR). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum { FEED, DRAIN };
static int job, job_fd, ticks;
static size_t job_len;

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void *ticker(void *x)
{
	(void)x;
	for (ticks = 0; ticks < 3; ticks++)
		sleep_ms(5);
	static char buf[1 << 20];
	if (job == FEED) {
		memset(buf, 'f', job_len);
		if (write(job_fd, buf, job_len) != (ssize_t)job_len)
			perror("feed");
	} else {
		size_t got = 0;
		while (got < job_len) {
			ssize_t n = read(job_fd, buf, job_len - got);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
	}
	return NULL;
}

/* Start the ticker on (what, fd, len), then make the call. */
static void with_ticker(int what, int fd, size_t len, pthread_t *t)
{
	job = what;
	job_fd = fd;
	job_len = len;
	ticks = 0;
	pthread_create(t, NULL, ticker, NULL);
}

static void said(const char *what, ssize_t r, int err, pthread_t t)
{
	pthread_join(t, NULL);
	printf("%-44s %zd (%s); ticker ran meanwhile: %s\n", what, r, r < 0 ? strerror(err) : "-",
	       ticks == 3 ? "yes" : "no");
}

/* Fill fd (a pipe or a stream socket) until a non-blocking write stops. */
static size_t fill(int fd)
{
	static char buf[65536];
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	size_t n = 0;
	ssize_t w;
	while ((w = write(fd, buf, sizeof(buf))) > 0)
		n += (size_t)w;
	fcntl(fd, F_SETFL, fl);
	return n;
}

static void on_alarm(int sig)
{
	(void)sig;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(20);  /* a worker held by a splice: the case never ends */
	pthread_t t;
	int a[2], b[2], s[2];
	ssize_t r;

	pipe(a);
	pipe(b);
	with_ticker(FEED, a[1], 1000, &t);
	r = splice(a[0], NULL, b[1], NULL, 4096, 0);
	said("splice pipe -> pipe, input empty", r, errno, t);

	char drop[4096];
	read(b[0], drop, sizeof(drop));
	size_t full = fill(b[1]);
	write(a[1], "0123456789", 10);
	with_ticker(DRAIN, b[0], full, &t);
	r = splice(a[0], NULL, b[1], NULL, 10, 0);
	said("splice pipe -> pipe, output full", r, errno, t);
	read(b[0], drop, sizeof(drop));

	with_ticker(FEED, a[1], 500, &t);
	r = tee(a[0], b[1], 4096, 0);
	said("tee pipe -> pipe, input empty", r, errno, t);
	r = read(a[0], drop, sizeof(drop));
	printf("  the input still holds the %zd bytes tee copied\n", r);
	read(b[0], drop, sizeof(drop));

	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	with_ticker(FEED, s[1], 700, &t);
	r = splice(s[0], NULL, b[1], NULL, 4096, 0);
	said("splice socket -> pipe, socket empty", r, errno, t);
	read(b[0], drop, sizeof(drop));

	full = fill(s[0]);
	write(a[1], "abcdefgh", 8);
	with_ticker(DRAIN, s[1], full, &t);
	r = splice(a[0], NULL, s[0], NULL, 8, 0);
	said("splice pipe -> socket, socket full", r, errno, t);
	char tail[8];
	r = read(s[1], tail, sizeof(tail));
	printf("  the peer got %zd bytes: %.8s\n", r, tail);

	r = splice(a[0], NULL, b[1], NULL, 100, SPLICE_F_NONBLOCK);
	printf("%-44s %zd (%s)\n", "SPLICE_F_NONBLOCK, input empty", r, r < 0 ? strerror(errno) : "-");

	struct timeval tv = { 0, 50000 };
	setsockopt(s[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	r = splice(s[0], NULL, b[1], NULL, 100, 0);
	printf("%-44s %zd (%s)\n", "splice from a socket with SO_RCVTIMEO", r, r < 0 ? strerror(errno) : "-");

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;  /* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 30000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	r = splice(a[0], NULL, b[1], NULL, 100, 0);
	printf("%-44s %zd (%s)\n", "splice cut short by a handler", r, r < 0 ? strerror(errno) : "-");
	return 0;
}
