/* Pipe writes handed straight to a parked reader (src/rt/pipe.h): what a
 * reader gets must be what it gets natively, whatever else put bytes in
 * the pipe first. Each case parks a reader thread in read() on an empty
 * pipe, then writes by some way and prints what the reader got, in order.
 * Under the shim with one worker the reader is parked for sure when the
 * writes come (it runs only when main waits); natively the order cannot
 * differ either way. A lost or misplaced byte hangs (the alarm ends the
 * run) or prints differently. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "common.h"

/* A write the shim cannot see: the instruction itself. */
static long raw_write(int fd, const void *b, size_t n)
{
#if defined(__x86_64__)
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "0"((long)SYS_write), "D"((long)fd), "S"(b), "d"(n)
			 : "rcx", "r11", "memory");
	return r;
#else
	return syscall(SYS_write, fd, b, n);
#endif
}

/* The reader: reads `want` bytes, `chunk` at most per read, and records
 * each read's size. */
struct reader {
	int fd;
	size_t want, chunk;
	char got[256];
	size_t n;
	char sizes[256];
	pthread_t t;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	int off = 0;
	while (r->n < r->want) {
		ssize_t k = read(r->fd, r->got + r->n, r->chunk);
		if (k <= 0)
			break;
		r->n += (size_t)k;
		off += snprintf(r->sizes + off, sizeof(r->sizes) - (size_t)off, "%s%zd",
				off ? "+" : "", k);
	}
	return NULL;
}

static void start(struct reader *r, int fd, size_t want, size_t chunk)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->want = want;
	r->chunk = chunk;
	pthread_create(&r->t, NULL, reader_main, r);
	sleep_ms(30);  /* it parks (natively: blocks); the result is the same if not */
}

/* sizes: print the size of each read too (only where natively it
 * cannot vary: a buffer smaller than the write, packets). */
static void finish(const char *what, struct reader *r, int sizes)
{
	pthread_join(r->t, NULL);
	printf("%-52s \"%.*s\"%s%s%s\n", what, (int)r->n, r->got, sizes ? " (reads " : "",
	       sizes ? r->sizes : "", sizes ? ")" : "");
}

/* Bytes of many sizes both ways; the echoer reads into three buffers. */
static int ab[2], ba[2];
static const size_t sizes[] = { 1, 7, 100, 512, 4096, 4097, 65536, 65537, 100000, 3 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))
#define ROUNDS 30

static int read_full(int fd, unsigned char *b, size_t n, int vectored)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k;
		if (vectored) {
			size_t left = n - got, a = left < 3 ? left : 3;
			size_t c = left - a < 5 ? left - a : 5;
			struct iovec v[3] = { { b + got, a }, { b + got + a, c },
					      { b + got + a + c, left - a - c } };
			k = readv(fd, v, 3);
		} else {
			k = read(fd, b + got, n - got);
		}
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

static void *echoer(void *x)
{
	unsigned char *b = malloc(100000);
	for (int r = 0; r < ROUNDS; r++)
		for (size_t i = 0; i < NSIZES; i++) {
			if (read_full(ab[0], b, sizes[i], (r + (int)i) & 1))
				return NULL;
			struct iovec v[2] = { { b, sizes[i] / 2 }, { b + sizes[i] / 2, sizes[i] - sizes[i] / 2 } };
			if (writev(ba[1], v, 2) != (ssize_t)sizes[i])  /* blocking: all of it */
				return NULL;
		}
	free(b);
	return NULL;
}

static void sizes_both_ways(void)
{
	pipe(ab);
	pipe(ba);
	pthread_t t;
	pthread_create(&t, NULL, echoer, NULL);
	unsigned char *out = malloc(100000), *in = malloc(100000);
	int wrong = 0, msgs = 0;
	for (int r = 0; r < ROUNDS; r++)
		for (size_t i = 0; i < NSIZES; i++) {
			for (size_t k = 0; k < sizes[i]; k++)
				out[k] = (unsigned char)(k * 7 + (size_t)r * 13 + i);
			if (write(ab[1], out, sizes[i]) != (ssize_t)sizes[i] ||
			    read_full(ba[0], in, sizes[i], 0)) {
				printf("sizes: broke at round %d size %zu\n", r, sizes[i]);
				exit(1);
			}
			wrong += memcmp(out, in, sizes[i]) != 0;
			msgs++;
		}
	pthread_join(t, NULL);
	printf("%-52s %d messages, %d wrong\n", "sizes 1 B to 100 KB both ways, read/readv/writev", msgs, wrong);
	free(out);
	free(in);
	close(ab[0]); close(ab[1]); close(ba[0]); close(ba[1]);
}

static void order_cases(void)
{
	struct reader r;
	int p[2];

	pipe(p);
	start(&r, p[0], 2, 64);
	raw_write(p[1], "!", 1);
	write(p[1], "x", 1);
	finish("a raw write, then a write", &r, 0);
	close(p[0]); close(p[1]);

	pipe(p);
	start(&r, p[0], 2, 64);
	pid_t c = fork();
	if (c == 0) {
		write(p[1], "c", 1);
		_exit(0);
	}
	waitpid(c, NULL, 0);
	write(p[1], "p", 1);
	finish("a forked child's write, then the parent's", &r, 0);
	close(p[0]); close(p[1]);

	pipe(p);
	start(&r, p[0], 2, 64);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "printf s >&%d", p[1]);
	if (system(cmd) != 0)
		printf("system failed\n");
	write(p[1], "t", 1);
	finish("system()'s shell writes, then the program", &r, 0);
	close(p[0]); close(p[1]);

	pipe(p);
	start(&r, p[0], 2, 64);
	int d = dup(p[1]);
	write(d, "a", 1);
	write(p[1], "b", 1);
	finish("a write through a dup, then through the pipe's fd", &r, 0);
	close(d); close(p[0]); close(p[1]);

	pipe(p);
	start(&r, p[0], 20, 10);
	write(p[1], "0123456789abcdefghij", 20);
	finish("a write larger than the reader's buffer", &r, 1);
	close(p[0]); close(p[1]);

	pipe(p);
	start(&r, p[0], 1, 64);
	if (write(p[1], "", 0) != 0)
		printf("empty write failed\n");
	write(p[1], "e", 1);
	finish("an empty write, then one byte", &r, 0);
	close(p[0]); close(p[1]);

	pipe2(p, O_DIRECT);
	start(&r, p[0], 5, 64);
	write(p[1], "12", 2);
	write(p[1], "345", 3);
	finish("packet mode: two packets", &r, 1);
	close(p[0]); close(p[1]);
}

/* A reader cancelled while it is parked: its offer must go with it. */
static void *cancelled(void *arg)
{
	char b[8];
	read(*(int *)arg, b, sizeof(b));
	return (void *)1;  /* not reached: read is a cancellation point */
}

static void cancel_case(void)
{
	int p[2];
	pipe(p);
	pthread_t t;
	pthread_create(&t, NULL, cancelled, &p[0]);
	sleep_ms(30);
	pthread_cancel(t);
	void *ret;
	pthread_join(t, &ret);
	write(p[1], "q", 1);
	char b = 0;
	read(p[0], &b, 1);
	printf("%-52s %s, then the pipe gave \"%c\"\n", "a parked reader cancelled",
	       ret == PTHREAD_CANCELED ? "cancelled" : "not cancelled", b);
	close(p[0]); close(p[1]);
}

/* Two readers of one pipe: every byte reaches one of them. */
struct pair_reader {
	int fd;
	long sum, n;
};

static void *pair_read(void *arg)
{
	struct pair_reader *r = arg;
	unsigned char c;
	while (read(r->fd, &c, 1) == 1 && c != 0) {
		r->sum += c;
		r->n++;
	}
	return NULL;
}

static void two_readers(void)
{
	int p[2];
	pipe(p);
	struct pair_reader a = { p[0], 0, 0 }, b = { p[0], 0, 0 };
	pthread_t ta, tb;
	pthread_create(&ta, NULL, pair_read, &a);
	pthread_create(&tb, NULL, pair_read, &b);
	long sum = 0;
	for (int i = 0; i < 2000; i++) {
		unsigned char c = (unsigned char)(1 + i % 250);
		write(p[1], &c, 1);
		sum += c;
		if (i % 100 == 0)
			sched_yield();
	}
	write(p[1], "\0\0", 2);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	printf("%-52s %ld bytes, sum %s\n", "two readers of one pipe", a.n + b.n,
	       a.sum + b.sum == sum ? "right" : "wrong");
	close(p[0]); close(p[1]);
}

int main(void)
{
	alarm(60);
	setvbuf(stdout, NULL, _IOLBF, 0);
	order_cases();
	cancel_case();
	two_readers();
	sizes_both_ways();
	return 0;
}
