/* A blocked receive that ends without data must leave the program's
 * buffer alone, then and later: under EVSHIM_NET=uring the receive is an
 * operation in the kernel's hands (rt/netring.h), which the runtime must
 * take back before the call returns. Each case parks a thread in recv
 * (or accept) on a socket with nothing to read, ends the call another way
 * (SO_RCVTIMEO, pthread_cancel, a signal with and without SA_RESTART),
 * then sends bytes: the buffer must still hold its fill pattern, and the
 * bytes must still be in the socket for the next read (a cancelled
 * receive consumed nothing). A send into a full socket that SO_SNDTIMEO
 * ends returns what fitted, and the buffer's later contents never go out.
 * Also: blocked receives into __thread buffers
 * and blocked sends from them (the ring gets a bounce buffer) get and send
 * their own thread's bytes.
 * The transcript is the same natively and under the shim.
 *
 *   net_cancel        the cases above
 *   net_cancel close  a parked recv whose fd another thread closes: Linux
 *                     leaves it blocked, the shim wakes it with EBADF
 *                     (docs/differences.md), so this case runs under the
 *                     shim only; after the close, bytes sent to the peer
 *                     must not land in the buffer. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define BUF 256

static char buf[BUF];

static void fill(void)
{
	memset(buf, '#', sizeof(buf));
}

static int untouched(void)
{
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != '#')
			return 0;
	return 1;
}

static const char *err_name(ssize_t r)
{
	return r < 0 ? strerrorname_np(errno) : "";
}

/* After the call ended: bytes arrive; they must not reach buf, and the
 * next read must find them all. */
static void after(const char *what, int rd, int wr)
{
	usleep(20000);
	write(wr, "late bytes", 10);
	usleep(30000);
	printf("%s: buffer untouched after late bytes: %s\n", what, untouched() ? "yes" : "NO");
	char got[32] = { 0 };
	ssize_t n = recv(rd, got, sizeof(got) - 1, 0);
	printf("%s: next read: %zd \"%s\"\n", what, n, n > 0 ? got : "");
}

/* --- SO_RCVTIMEO ------------------------------------------------------ */

static void case_timeout(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	struct timeval tv = { 0, 50000 };
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	fill();
	ssize_t r = recv(sv[0], buf, sizeof(buf), 0);
	printf("timeout: recv %zd %s, buffer untouched: %s\n", r, err_name(r), untouched() ? "yes" : "NO");
	tv.tv_usec = 0;
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	after("timeout", sv[0], sv[1]);
	close(sv[0]);
	close(sv[1]);
}

/* The same on a TCP connection (the ring's poll on an inet socket). */
static int tcp_pair(int *a, int *b)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	bind(ls, (struct sockaddr *)&sa, sizeof(sa));
	listen(ls, 4);
	getsockname(ls, (struct sockaddr *)&sa, &sl);
	*a = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*a, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	*b = accept(ls, NULL, NULL);
	close(ls);
	return *b < 0 ? -1 : 0;
}

static void case_timeout_tcp(void)
{
	int a, b;
	if (tcp_pair(&a, &b)) {
		printf("tcp: no connection\n");
		return;
	}
	/* a read that gets bytes first: the next one is known to find the
	 * socket empty and goes straight to waiting */
	write(a, "x", 1);
	char c;
	read(b, &c, 1);
	struct timeval tv = { 0, 50000 };
	setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	fill();
	ssize_t r = read(b, buf, sizeof(buf));
	printf("tcp timeout: read %zd %s, buffer untouched: %s\n", r, err_name(r),
	       untouched() ? "yes" : "NO");
	tv.tv_usec = 0;
	setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	after("tcp timeout", b, a);
	close(a);
	close(b);
}

/* SO_SNDTIMEO: a send into a full socket ends with what fitted; the
 * program then reuses its buffer, and not one byte of the new contents may
 * go out (a send still in the kernel's hands would read it). */
#define SBIG (256 * 1024)
static char sbuf[SBIG];

static void case_sndtimeo(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	struct timeval tv = { 0, 50000 };
	setsockopt(sv[1], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(sbuf, 'o', sizeof(sbuf));
	ssize_t r = send(sv[1], sbuf, sizeof(sbuf), 0);
	int e = errno;
	memset(sbuf, 'X', sizeof(sbuf));  /* the program's buffer, reused */
	usleep(30000);
	shutdown(sv[1], SHUT_WR);
	char b[4096];
	size_t got = 0, x = 0;
	ssize_t n;
	while ((n = recv(sv[0], b, sizeof(b), 0)) > 0) {
		for (ssize_t k = 0; k < n; k++)
			x += b[k] != 'o';
		got += (size_t)n;
	}
	printf("sndtimeo: send %s, partial: %s; received what it returned: %s, new bytes sent: %zu\n",
	       r < 0 ? strerrorname_np(e) : "returned a count",
	       r > 0 && r < SBIG ? "yes" : "no", (r < 0 ? 0 : (size_t)r) == got ? "yes" : "NO", x);
	close(sv[0]);
	close(sv[1]);
}

/* --- pthread_cancel --------------------------------------------------- */

static int csock;

static void cleanup(void *x)
{
	(void)x;
	printf("cancel: cleanup handler ran\n");
}

static void *cancel_reader(void *x)
{
	(void)x;
	pthread_cleanup_push(cleanup, NULL);
	ssize_t r = recv(csock, buf, sizeof(buf), 0);
	printf("cancel: recv returned %zd (it should not)\n", r);
	pthread_cleanup_pop(0);
	return NULL;
}

static void case_cancel(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	csock = sv[0];
	fill();
	pthread_t t;
	pthread_create(&t, NULL, cancel_reader, NULL);
	usleep(50000);
	pthread_cancel(t);
	void *ret;
	pthread_join(t, &ret);
	printf("cancel: joined, %s, buffer untouched: %s\n",
	       ret == PTHREAD_CANCELED ? "cancelled" : "not cancelled", untouched() ? "yes" : "NO");
	after("cancel", sv[0], sv[1]);
	close(sv[0]);
	close(sv[1]);
}

/* --- a signal --------------------------------------------------------- */

static volatile sig_atomic_t handled;
static pthread_t sig_target;
static int ssock;

static void on_usr1(int s)
{
	(void)s;
	handled++;
}

static void *signal_reader(void *x)
{
	(void)x;
	ssize_t r = recv(ssock, buf, sizeof(buf), 0);
	int e = errno;
	printf("signal: recv %zd %s (handler ran %d)\n", r, r < 0 ? strerrorname_np(e) : "",
	       (int)handled);
	return NULL;
}

/* restart: SA_RESTART, so the receive goes on and gets the bytes sent
 * after the signal; without it, EINTR and the buffer untouched. */
static void case_signal(int restart)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	handled = 0;
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	ssock = sv[0];
	fill();
	pthread_create(&sig_target, NULL, signal_reader, NULL);
	usleep(50000);
	pthread_kill(sig_target, SIGUSR1);
	usleep(50000);
	if (restart)
		write(sv[1], "after", 5);
	pthread_join(sig_target, NULL);
	const char *what = restart ? "signal SA_RESTART" : "signal";
	if (restart) {
		printf("%s: buffer holds \"%.5s\"\n", what, buf);
	} else {
		printf("%s: buffer untouched: %s\n", what, untouched() ? "yes" : "NO");
		after(what, sv[0], sv[1]);
	}
	close(sv[0]);
	close(sv[1]);
}

/* --- accept ------------------------------------------------------------ */

static void case_accept_timeout(void)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	bind(ls, (struct sockaddr *)&sa, sizeof(sa));
	listen(ls, 4);
	getsockname(ls, (struct sockaddr *)&sa, &sl);
	struct timeval tv = { 0, 50000 };
	setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	struct sockaddr_in peer;
	memset(&peer, '#', sizeof(peer));
	socklen_t pl = sizeof(peer);
	int r = accept(ls, (struct sockaddr *)&peer, &pl);
	int all = 1;
	for (size_t i = 0; i < sizeof(peer); i++)
		all &= ((char *)&peer)[i] == '#';
	printf("accept timeout: %d %s, address untouched: %s, length %u\n", r,
	       r < 0 ? strerrorname_np(errno) : "", all ? "yes" : "NO", (unsigned)pl);
	/* a connection that comes later waits for the next accept */
	int c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&sa, sizeof(sa));
	usleep(20000);
	tv.tv_usec = 0;
	setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	r = accept(ls, NULL, NULL);
	printf("accept timeout: next accept gets it: %s\n", r >= 0 ? "yes" : "no");
	close(r);
	close(c);
	close(ls);
}

/* --- __thread buffers --------------------------------------------------- */

static __thread char tbuf[64];
static int tsock[4][2];
static int twrong;

static void *tls_reader(void *x)
{
	long id = (long)x;
	memset(tbuf, 'a' + (int)id, sizeof(tbuf));
	ssize_t n = recv(tsock[id][0], tbuf, 8, 0);
	char want[9];
	snprintf(want, sizeof(want), "thread%ld", id);
	if (n != 7 || memcmp(tbuf, want, 7) || tbuf[7] != 'a' + id)
		__atomic_fetch_add(&twrong, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void case_tls(void)
{
	pthread_t t[4];
	for (long i = 0; i < 4; i++) {
		socketpair(AF_UNIX, SOCK_STREAM, 0, tsock[i]);
		pthread_create(&t[i], NULL, tls_reader, (void *)i);
	}
	usleep(50000);
	for (int i = 3; i >= 0; i--) {
		char m[9];
		snprintf(m, sizeof(m), "thread%d", i);
		write(tsock[i][1], m, 7);
		usleep(5000);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		close(tsock[i][0]);
		close(tsock[i][1]);
	}
	printf("__thread buffers: %d wrong\n", twrong);
}

/* Blocking sends from __thread buffers into full sockets: each peer gets
 * its own thread's bytes (under the shim the ring sends a copy). */
#define TSEND (48 * 1024)
static __thread char tsbuf[TSEND];
static int tssock[2][2];

static void *tls_writer(void *x)
{
	long id = (long)x;
	memset(tsbuf, 'A' + (int)id, sizeof(tsbuf));
	ssize_t n = send(tssock[id][1], tsbuf, sizeof(tsbuf), 0);
	return (void *)n;
}

static void case_tls_send(void)
{
	pthread_t t[2];
	for (long i = 0; i < 2; i++) {
		socketpair(AF_UNIX, SOCK_STREAM, 0, tssock[i]);
		int sz = 4096;
		setsockopt(tssock[i][1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(tssock[i][0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		pthread_create(&t[i], NULL, tls_writer, (void *)i);
	}
	usleep(50000);  /* both writers wait for room */
	int wrong = 0;
	for (int i = 0; i < 2; i++) {
		char b[4096];
		size_t got = 0;
		while (got < TSEND) {
			ssize_t n = recv(tssock[i][0], b, sizeof(b), 0);
			if (n <= 0)
				break;
			for (ssize_t k = 0; k < n; k++)
				wrong += b[k] != 'A' + i;
			got += (size_t)n;
		}
		void *ret;
		pthread_join(t[i], &ret);
		printf("__thread send %d: sent %ld, received %zu, %d wrong bytes\n", i, (long)ret,
		       got, wrong);
		close(tssock[i][0]);
		close(tssock[i][1]);
	}
}

/* --- close (shim only) -------------------------------------------------- */

static int xsock;

static void *close_reader(void *x)
{
	(void)x;
	ssize_t r = recv(xsock, buf, sizeof(buf), 0);
	printf("close: recv %zd %s\n", r, err_name(r));
	return NULL;
}

static void case_close(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	xsock = sv[0];
	fill();
	pthread_t t;
	pthread_create(&t, NULL, close_reader, NULL);
	usleep(50000);
	close(sv[0]);
	pthread_join(t, NULL);
	printf("close: buffer untouched: %s\n", untouched() ? "yes" : "NO");
	ssize_t w = write(sv[1], "late bytes", 10);
	usleep(50000);
	printf("close: write to the peer after the close: %zd %s; buffer untouched: %s\n", w,
	       err_name(w), untouched() ? "yes" : "NO");
	close(sv[1]);
}

/* A second thread parked in a read for the whole run: with it the
 * process has two tasks under the shim, and the cases' waits are the
 * runtime's (parks, ring operations); `net_cancel alone` runs them with
 * main by itself, whose waits the kernel makes (rt/lonewait.c). */
static int companion_pipe[2];

static void *companion(void *arg)
{
	(void)arg;
	char c;
	return (void *)(long)read(companion_pipe[0], &c, 1);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1 && !strcmp(argv[1], "close")) {
		case_close();
		return 0;
	}
	pthread_t comp;
	bool alone = argc > 1 && !strcmp(argv[1], "alone");
	if (!alone && (pipe(companion_pipe) || pthread_create(&comp, NULL, companion, NULL)))
		return 1;
	case_timeout();
	case_timeout_tcp();
	case_sndtimeo();
	case_cancel();
	case_signal(0);
	case_signal(1);
	case_accept_timeout();
	case_tls();
	case_tls_send();
	if (!alone) {
		if (write(companion_pipe[1], "x", 1) != 1)
			return 1;
		pthread_join(comp, NULL);
	}
	return 0;
}
