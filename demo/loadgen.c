/* Load generator: opens N connections at once, drives each through R
 * request/response rounds, and checks every byte it gets back. One thread,
 * epoll, non-blocking: the client side costs the same whatever server it
 * talks to. Bounded in count (N x R) and in time (-t).
 *
 *   loadgen -p port -c conns -r rounds [-m echo|http] [-s bytes]
 *           [-u /url -F expected-file] [-t seconds] [-H host]
 *
 * Prints "requests N ok N errors N bytes N", "elapsed_s S rps R" and
 * "latency_us p50 X p99 Y"; exits 0 only if every response was right. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int fd;
	int round;
	size_t sent, got, want;   /* bytes of the current request/response */
	int hdr_done;
	char hdr[512];
	size_t hdrlen;
	int64_t t0;
	int done;
};

static int mode_http;
static size_t msg_size = 128;
static char *expect;  /* http: the file's content */
static size_t expect_len;
static char request[600];
static size_t request_len;
static long ok, errors, bytes;
static int64_t *lat;
static long nlat;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static unsigned char pattern(int id, int round, size_t i)
{
	return (unsigned char)('a' + (id * 7 + round * 13 + (int)i) % 26);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void start_round(struct conn *c)
{
	c->sent = c->got = 0;
	c->hdr_done = 0;
	c->hdrlen = 0;
	c->want = mode_http ? 0 : msg_size;
	c->t0 = now_ns();
}

/* Returns 1 when the connection has finished all rounds, -1 on error. */
static int pump(struct conn *c, int id, int rounds)
{
	static char buf[65536];  /* one thread: one buffer */
	size_t out_len = mode_http ? request_len : msg_size;
next_round:
	while (c->sent < out_len) {
		ssize_t w;
		if (mode_http) {
			w = write(c->fd, request + c->sent, out_len - c->sent);
		} else {
			size_t n = out_len - c->sent < sizeof(buf) ? out_len - c->sent : sizeof(buf);
			for (size_t i = 0; i < n; i++)
				buf[i] = (char)pattern(id, c->round, c->sent + i);
			w = write(c->fd, buf, n);
		}
		if (w < 0)
			return errno == EAGAIN ? 0 : -1;
		c->sent += (size_t)w;
	}
	for (;;) {
		ssize_t r = read(c->fd, buf, sizeof(buf));
		if (r == 0)
			return -1;
		if (r < 0)
			return errno == EAGAIN ? 0 : -1;
		size_t off = 0;
		if (mode_http && !c->hdr_done) {
			while (off < (size_t)r && c->hdrlen < sizeof(c->hdr) - 1) {
				c->hdr[c->hdrlen++] = buf[off++];
				c->hdr[c->hdrlen] = 0;
				if (c->hdrlen >= 4 && !memcmp(c->hdr + c->hdrlen - 4, "\r\n\r\n", 4))
					break;
			}
			if (c->hdrlen >= 4 && !memcmp(c->hdr + c->hdrlen - 4, "\r\n\r\n", 4)) {
				c->hdr_done = 1;
				char *cl = strstr(c->hdr, "Content-Length: ");
				if ((strncmp(c->hdr, "HTTP/1.1 200", 12) &&
				     strncmp(c->hdr, "HTTP/1.0 200", 12)) || !cl)
					return -1;
				c->want = (size_t)atoll(cl + 16);
				if (c->want != expect_len)
					return -1;
			} else if (c->hdrlen >= sizeof(c->hdr) - 1) {
				return -1;
			} else {
				continue;
			}
		}
		for (; off < (size_t)r; off++, c->got++) {
			unsigned char want = mode_http ? (unsigned char)expect[c->got]
						       : pattern(id, c->round, c->got);
			if (c->got >= c->want || (unsigned char)buf[off] != want)
				return -1;
		}
		bytes += r;
		if (c->got == c->want && (!mode_http || c->hdr_done)) {
			lat[nlat++] = now_ns() - c->t0;
			ok++;
			if (++c->round == rounds)
				return 1;
			start_round(c);
			goto next_round;
		}
	}
}

int main(int argc, char **argv)
{
	int port = 0, conns = 10, rounds = 10, opt;
	double tlimit = 60;
	const char *url = "/", *file = NULL, *host = "127.0.0.1";
	while ((opt = getopt(argc, argv, "p:c:r:m:s:u:F:t:H:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'c': conns = atoi(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		case 'm': mode_http = !strcmp(optarg, "http"); break;
		case 's': msg_size = (size_t)atol(optarg); break;
		case 'u': url = optarg; break;
		case 'F': file = optarg; break;
		case 't': tlimit = atof(optarg); break;
		case 'H': host = optarg; break;
		default: return 2;
		}
	}
	if (!port || conns < 1 || rounds < 1 || (mode_http && !file) || msg_size == 0) {
		fprintf(stderr, "usage: loadgen -p port -c conns -r rounds [-m echo|http] [-s bytes] [-u url -F file] [-t s]\n");
		return 2;
	}
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (mode_http) {
		FILE *f = fopen(file, "rb");
		struct stat st;
		if (!f || fstat(fileno(f), &st)) {
			perror(file);
			return 2;
		}
		expect_len = (size_t)st.st_size;
		expect = malloc(expect_len + 1);
		if (fread(expect, 1, expect_len, f) != expect_len)
			return 2;
		fclose(f);
		request_len = (size_t)snprintf(request, sizeof(request),
					       "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", url, host);
	}
	lat = calloc((size_t)conns * (size_t)rounds, sizeof(*lat));
	struct conn *cs = calloc((size_t)conns, sizeof(*cs));
	int ep = epoll_create1(0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, host, &sa.sin_addr);
	int64_t t_start = now_ns(), t_end = t_start + (int64_t)(tlimit * 1e9);
	int one = 1, alive = 0;
	for (int i = 0; i < conns; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			perror("socket");
			errors++;
			cs[i].done = 1;
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) && errno != EINPROGRESS) {
			perror("connect");
			errors++;
			close(fd);
			cs[i].done = 1;
			continue;
		}
		cs[i].fd = fd;
		start_round(&cs[i]);
		struct epoll_event e = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = (uint32_t)i };
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
		alive++;
	}
	struct epoll_event ev[256];
	while (alive > 0 && now_ns() < t_end) {
		int n = epoll_wait(ep, ev, 256, 100);
		for (int k = 0; k < n; k++) {
			int i = (int)ev[k].data.u32;
			struct conn *c = &cs[i];
			if (c->done)
				continue;
			int r = pump(c, i, rounds);
			if (r != 0) {
				if (r < 0)
					errors++;
				c->done = 1;
				close(c->fd);
				alive--;
			}
		}
	}
	double el = (double)(now_ns() - t_start) / 1e9;
	if (alive > 0) {
		fprintf(stderr, "loadgen: time limit reached with %d connections unfinished\n", alive);
		errors += alive;
	}
	qsort(lat, (size_t)nlat, sizeof(*lat), cmp64);
	long expected = (long)conns * rounds;
	printf("requests %ld ok %ld errors %ld bytes %ld\n", expected, ok, errors, bytes);
	printf("elapsed_s %.3f rps %.0f\n", el, ok / el);
	printf("latency_us p50 %.0f p99 %.0f\n", nlat ? lat[nlat / 2] / 1e3 : 0.0,
	       nlat ? lat[(nlat * 99) / 100] / 1e3 : 0.0);
	return ok == expected && errors == 0 ? 0 : 1;
}
