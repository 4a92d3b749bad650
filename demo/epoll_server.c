/* The reference the shim is measured against: the same echo and HTTP
 * services as echo_server and http_server, written the way one writes
 * them by hand for speed: one thread, non-blocking sockets, one epoll set,
 * level-triggered (a readable socket is read once per report, so a round
 * trip costs epoll_wait's share, one read and one write, with no read
 * that fails with EAGAIN). It knows nothing of evshim and is never run
 * under it by make bench.
 *
 *   epoll_server [-d docroot] [-p port] [-n conns] [-P portfile]
 *
 * Without -d it echoes; with -d it serves GET requests for files under
 * docroot (keep-alive, open + fstat + read per request, as http_server
 * does). -n: exit after that many connections have closed. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common.h"

#define BUF 16384
#define REQ_MAX 4096

struct conn {
	int fd;
	char *out;               /* bytes not yet written (the socket was full) */
	size_t out_len, out_off, out_cap;
	char req[REQ_MAX];       /* http: the request read so far */
	size_t have;
};

static const char *docroot;
static long limit, finished;
static int ep;

static void conn_close(struct conn *c)
{
	close(c->fd);  /* leaves the epoll set with it */
	free(c->out);
	free(c);
	if (limit && ++finished == limit)
		exit(0);
}

/* Queue n bytes after whatever is already waiting. */
static int queue(struct conn *c, const char *p, size_t n)
{
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : BUF;
		while (cap < c->out_len + n)
			cap *= 2;
		char *b = realloc(c->out, cap);
		if (!b)
			return -1;
		c->out = b;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

/* Write what is queued (the socket said it has room); once all is out,
 * stop asking for EPOLLOUT. */
static int flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (w < 0 && errno == EAGAIN)
			return 0;
		if (w <= 0)
			return -1;
		c->out_off += (size_t)w;
	}
	c->out_off = c->out_len = 0;
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
	return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

/* Write p directly when nothing is waiting (the common case: no copy),
 * queue the rest. */
static int send_bytes(struct conn *c, const char *p, size_t n)
{
	if (c->out_len)
		return queue(c, p, n);
	while (n) {
		ssize_t w = write(c->fd, p, n);
		if (w < 0 && errno == EAGAIN)
			return queue(c, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int status(struct conn *c, int code, const char *reason)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nContent-Type: text/plain\r\n\r\n%s\n",
			 code, reason, strlen(reason) + 1, reason);
	return send_bytes(c, hdr, (size_t)n);
}

/* One request, answered as http_server answers it: 0 keep, -1 close. */
static int handle(struct conn *c, char *req)
{
	int file;
	off_t size;
	const char *why;
	int code = demo_http_open(docroot, req, &file, &size, &why);
	if (code != 200) {
		int r = status(c, code, why);
		return code == 400 || code == 405 ? -1 : r;
	}
	char hdr[256];
	int n = demo_http_header(hdr, sizeof(hdr), size);
	int rc = send_bytes(c, hdr, (size_t)n);
	char buf[BUF];
	ssize_t r;
	while (rc == 0 && (r = read(file, buf, sizeof(buf))) > 0)
		rc = send_bytes(c, buf, (size_t)r);
	close(file);
	return rc;
}

/* The socket is readable: read once (level-triggered: if more is there,
 * the next epoll_wait says so). 0 keep, -1 close. */
static int on_read(struct conn *c)
{
	if (!docroot) {
		char buf[BUF];
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		return send_bytes(c, buf, (size_t)n);
	}
	ssize_t n = read(c->fd, c->req + c->have, sizeof(c->req) - 1 - c->have);
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n <= 0)
		return -1;
	c->have += (size_t)n;
	c->req[c->have] = 0;
	char *end;
	while ((end = strstr(c->req, "\r\n\r\n"))) {
		*end = 0;
		if (handle(c, c->req) < 0)
			return -1;
		size_t used = (size_t)(end + 4 - c->req);
		memmove(c->req, end + 4, c->have - used + 1);
		c->have -= used;
	}
	return c->have == sizeof(c->req) - 1 ? -1 : 0;
}

int main(int argc, char **argv)
{
	int port = 0, opt;
	const char *portfile = NULL;
	while ((opt = getopt(argc, argv, "p:n:P:d:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'n': limit = atol(optarg); break;
		case 'P': portfile = optarg; break;
		case 'd': docroot = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-d docroot] [-p port] [-n conns] [-P portfile]\n",
				argv[0]);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	int ls = demo_listen(port, SOCK_NONBLOCK, portfile), one = 1;
	if (ls < 0)
		return 1;
	ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };  /* NULL: the listener */
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &e);
	struct epoll_event ev[256];
	for (;;) {
		int n = epoll_wait(ep, ev, 256, -1);
		for (int i = 0; i < n; i++) {
			struct conn *c = ev[i].data.ptr;
			if (!c) {  /* take every waiting connection */
				for (;;) {
					int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
					if (fd < 0)
						break;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					c = calloc(1, sizeof(*c));
					if (!c) {
						close(fd);
						continue;
					}
					c->fd = fd;
					struct epoll_event ce = { .events = EPOLLIN, .data.ptr = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
				}
				continue;
			}
			int bad = (ev[i].events & EPOLLERR) != 0;
			size_t had = c->out_len;
			if (!bad && (ev[i].events & EPOLLOUT))
				bad = flush(c) < 0;
			if (!bad && (ev[i].events & (EPOLLIN | EPOLLHUP)))
				bad = on_read(c) < 0;
			if (!bad && c->out_len && !had) {  /* output now waits: ask for EPOLLOUT */
				struct epoll_event ce = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
				bad = epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ce) < 0;
			}
			if (bad)
				conn_close(c);
		}
	}
}
