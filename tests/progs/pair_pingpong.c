/* Two threads talking over a pipe pair and over a socketpair, made by this
 * process (the shim wakes the other end's task directly on each
 * transfer): 2,000 one-byte round trips each, every byte checked; then
 * 4 MiB through one pipe with a writer far ahead of a slow reader (the
 * writer waits for room). Printed: the counts and checksums. With the
 * argument "pipes", the pipe round trips only. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "common.h"

#define TRIPS 2000
#define BULK (4 << 20)

static int a[2], b[2];  /* ping: a[1] -> a[0]; pong: b[1] -> b[0] */
static int bad;

static void *echo(void *x)
{
	(void)x;
	unsigned char c;
	for (int i = 0; i < TRIPS; i++) {
		if (read(a[0], &c, 1) != 1 || c != (unsigned char)i)
			bad++;
		c++;
		if (write(b[1], &c, 1) != 1)
			bad++;
	}
	return NULL;
}

static void trips(const char *what)
{
	pthread_t t;
	bad = 0;
	pthread_create(&t, NULL, echo, NULL);
	for (int i = 0; i < TRIPS; i++) {
		unsigned char c = (unsigned char)i, r;
		if (write(a[1], &c, 1) != 1 || read(b[0], &r, 1) != 1 || r != (unsigned char)(i + 1))
			bad++;
	}
	pthread_join(t, NULL);
	printf("%s: %d round trips, %d wrong\n", what, TRIPS, bad);
}

static uint64_t got_sum = FNV_START;
static size_t got;

static void *slow_reader(void *x)
{
	(void)x;
	unsigned char buf[4096];
	ssize_t n;
	while ((n = read(a[0], buf, sizeof(buf))) > 0) {
		got_sum = fnv(buf, (size_t)n, got_sum);
		got += (size_t)n;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pipe(a);
	pipe(b);
	trips("pipes");
	close(a[0]); close(a[1]); close(b[0]); close(b[1]);
	if (argc > 1 && !strcmp(argv[1], "pipes"))
		return 0;
	int s[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	a[0] = s[0]; a[1] = s[1];
	b[0] = s[1]; b[1] = s[0];
	/* one socketpair both ways: ping a[1]=s[1] -> s[0]=a[0]; pong s[0] -> s[1] */
	trips("socketpair");
	close(s[0]); close(s[1]);
	pipe(a);
	pthread_t t;
	pthread_create(&t, NULL, slow_reader, NULL);
	static unsigned char data[BULK];
	for (size_t i = 0; i < BULK; i++)
		data[i] = (unsigned char)(i * 7 + (i >> 12));
	for (size_t off = 0; off < BULK; off += 65536)
		if (write(a[1], data + off, 65536) != 65536)
			bad++;
	close(a[1]);
	pthread_join(t, NULL);
	close(a[0]);
	printf("bulk: wrote %d bytes, reader got %zu, sums %s\n", BULK, got,
	       got_sum == fnv(data, BULK, FNV_START) ? "equal" : "DIFFER");
	return 0;
}
