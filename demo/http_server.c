/* A thread-per-connection HTTP/1.1 static file server in the shape of
 * seed 000: read the request, parse it, sanity-check the file name, open
 * the file, send the header, then the body by read/write (default) or by
 * sendfile (-s). Keep-alive connections serve requests until the client
 * closes. It knows nothing of evshim.
 *
 *   http_server -d docroot [-p port] [-n conns] [-P portfile] [-s] */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common.h"

static const char *docroot = ".";
static int use_sendfile;
static long limit, finished;

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int send_status(int fd, int code, const char *reason)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nContent-Type: text/plain\r\n\r\n%s\n",
			 code, reason, strlen(reason) + 1, reason);
	return write_all(fd, hdr, (size_t)n);
}

/* One request; returns 0 to keep the connection, -1 to close it. */
static int handle(int fd, char *req)
{
	int file;
	off_t size;
	const char *why;
	int code = demo_http_open(docroot, req, &file, &size, &why);
	if (code != 200) {
		int r = send_status(fd, code, why);
		return code == 400 || code == 405 ? -1 : r;
	}
	char hdr[256];
	int n = demo_http_header(hdr, sizeof(hdr), size);
	int rc = write_all(fd, hdr, (size_t)n);
	if (use_sendfile) {
		off_t off = 0;
		while (rc == 0 && off < size) {
			ssize_t s = sendfile(fd, file, &off, (size_t)(size - off));
			if (s <= 0)
				rc = -1;
		}
	} else {
		char buf[16384];
		ssize_t r;
		while (rc == 0 && (r = read(file, buf, sizeof(buf))) > 0)
			rc = write_all(fd, buf, (size_t)r);
	}
	close(file);
	return rc;
}

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	char req[4096];
	size_t have = 0;
	for (;;) {
		ssize_t r = read(fd, req + have, sizeof(req) - 1 - have);
		if (r <= 0)
			break;
		have += (size_t)r;
		req[have] = 0;
		char *end;
		while ((end = strstr(req, "\r\n\r\n"))) {
			*end = 0;
			if (handle(fd, req) < 0)
				goto out;
			size_t used = (size_t)(end + 4 - req);
			memmove(req, end + 4, have - used + 1);
			have -= used;
		}
		if (have == sizeof(req) - 1)
			break;  /* request too large */
	}
out:
	close(fd);
	if (limit && __atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST) == limit)
		exit(0);
	return NULL;
}

int main(int argc, char **argv)
{
	int port = 0, opt;
	const char *portfile = NULL;
	while ((opt = getopt(argc, argv, "p:n:P:d:s")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'n': limit = atol(optarg); break;
		case 'P': portfile = optarg; break;
		case 'd': docroot = optarg; break;
		case 's': use_sendfile = 1; break;
		default:
			fprintf(stderr, "usage: %s -d docroot [-p port] [-n conns] [-P portfile] [-s]\n", argv[0]);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	int ls = demo_listen(port, 0, portfile), one = 1;
	if (ls < 0)
		return 1;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				usleep(10000);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pthread_t t;
		if (pthread_create(&t, &at, serve, (void *)(long)fd))
			close(fd);
	}
}
