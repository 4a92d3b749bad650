/* A thread-per-connection echo server, written the old blocking way: it
 * knows nothing of evshim.
 *
 *   echo_server [-p port] [-n conns] [-P portfile]
 *
 * -p 0 (the default) lets the kernel pick a port; the port is printed as
 * "listening on PORT" and written to portfile if given. With -n the server
 * exits by itself after serving that many connections. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "common.h"

static long limit;
static long finished;

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	char buf[16384];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w <= 0)
				goto out;
			off += w;
		}
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
	while ((opt = getopt(argc, argv, "p:n:P:")) != -1) {
		switch (opt) {
		case 'p': port = atoi(optarg); break;
		case 'n': limit = atol(optarg); break;
		case 'P': portfile = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-p port] [-n conns] [-P portfile]\n", argv[0]);
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
			if (errno == EMFILE || errno == ENFILE) {
				usleep(10000);
				continue;
			}
			perror("accept");
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pthread_t t;
		if (pthread_create(&t, &at, serve, (void *)(long)fd)) {
			close(fd);
		}
	}
}
