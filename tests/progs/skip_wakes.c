/* Reads that the shim may skip (docs/design.md, decision 19): a blocking
 * read on an fd last seen empty, with no event since, parks before it
 * tries. Each case first makes the fd be seen empty (a non-blocking read
 * that fails, a blocking read that waited, a short read, a one-byte
 * ping-pong), then puts data in by a way the shim's own calls do not see
 * or did not see coming: a raw `syscall` instruction, a forked child, an
 * exec'd program, a dup of either end, before or after the fd joined a
 * poller, and reads it with a blocking call that must return it. A lost
 * wake-up hangs (the alarm ends the run). Printed: what each read got. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include "common.h"

/* A system call the shim cannot see: the instruction itself, not
 * syscall() (which the shim interposes). */
static long raw3(long nr, long a, long b, long c)
{
#if defined(__x86_64__)
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "0"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
#else
	return syscall(nr, a, b, c);
#endif
}

static long raw_write(int fd, const void *b, size_t n)
{
	return raw3(SYS_write, fd, (long)b, (long)n);
}

static void set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* Seen empty: a non-blocking read that finds nothing (the fd need not be
 * in any poller for this). */
static void see_empty(int fd)
{
	char c;
	set_nonblock(fd, 1);
	ssize_t r = read(fd, &c, 1);
	set_nonblock(fd, 0);
	if (r != -1 || errno != EAGAIN)
		printf("  (expected EAGAIN, got %zd)\n", r);
}

static void show(const char *what, const char *buf, ssize_t n)
{
	printf("%-58s %zd \"%.*s\"\n", what, n, n > 0 ? (int)n : 0, n > 0 ? buf : "");
	fflush(stdout);
}

/* A blocking read of up to n bytes, shown. */
static void rd(const char *what, int fd, size_t n)
{
	char buf[256];
	ssize_t r = read(fd, buf, n < sizeof(buf) ? n : sizeof(buf));
	show(what, buf, r);
}

/* A thread that writes `s` after a short sleep: makes the reader park
 * (the fd then sits in the reader's worker's poller). */
struct later {
	int fd;
	const char *s;
	int ms;
};

static void *later_main(void *p)
{
	struct later *l = p;
	sleep_ms(l->ms);
	if (write(l->fd, l->s, strlen(l->s)) < 0)
		perror("write");
	return NULL;
}

/* A blocking read that waits for a thread's write: the fd is registered
 * and was last seen empty (the read's first try failed). */
static void wait_once(const char *what, int rfd, int wfd)
{
	pthread_t t;
	struct later l = { wfd, "w", 20 };
	pthread_create(&t, NULL, later_main, &l);
	rd(what, rfd, 1);
	pthread_join(t, NULL);
}

static void pipes(void)
{
	int p[2], d;
	char c;

	pipe(p);
	see_empty(p[0]);
	raw_write(p[1], "a", 1);
	rd("pipe, unregistered: raw write, then read", p[0], 1);

	wait_once("pipe: a read that waited for a thread", p[0], p[1]);
	see_empty(p[0]);
	raw_write(p[1], "b", 1);
	rd("pipe, registered: raw write, then read", p[0], 1);

	/* The kernel's edge wakes the read; the byte left behind must be
	 * read by the next call, no edge of its own to come. */
	see_empty(p[0]);
	raw_write(p[1], "cd", 2);
	rd("pipe: raw write of 2 bytes, read 1", p[0], 1);
	rd("pipe: ... and the other", p[0], 1);

	/* The shim's write (a poke), then a raw one behind it before the
	 * reader runs: the reader takes the poked byte, the raw one is
	 * still there. */
	see_empty(p[0]);
	write(p[1], "e", 1);
	raw_write(p[1], "f", 1);
	rd("pipe: shim write + raw write, read 1", p[0], 1);
	rd("pipe: ... and the other", p[0], 1);

	/* A forked child writes. */
	see_empty(p[0]);
	pid_t k = fork();
	if (k == 0) {
		write(p[1], "g", 1);
		_exit(0);
	}
	waitpid(k, NULL, 0);
	rd("pipe: a forked child wrote, then read", p[0], 1);

	/* A forked child reads what the parent writes raw; the child
	 * inherited the record saying "empty". */
	see_empty(p[0]);
	k = fork();
	if (k == 0) {
		char b;
		ssize_t r = read(p[0], &b, 1);
		_exit(r == 1 && b == 'h' ? 0 : 1);
	}
	sleep_ms(20);
	raw_write(p[1], "h", 1);
	int st;
	waitpid(k, &st, 0);
	printf("%-58s %s\n", "pipe: a forked child reads a raw write",
	       WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "got it" : "FAILED");

	/* Another program writes: sh, its stdout the pipe. */
	see_empty(p[0]);
	k = fork();
	if (k == 0) {
		dup2(p[1], 1);
		execl("/bin/sh", "sh", "-c", "printf i", (char *)NULL);
		_exit(127);
	}
	waitpid(k, NULL, 0);
	rd("pipe: an exec'd program wrote, then read", p[0], 1);

	/* A dup of the write end (not the pair's end: no poke). */
	d = dup(p[1]);
	see_empty(p[0]);
	write(d, "j", 1);
	rd("pipe: written through a dup of the write end", p[0], 1);
	close(d);

	/* Read through a dup of the read end, last seen empty. */
	d = dup(p[0]);
	see_empty(d);
	write(p[1], "k", 1);
	rd("pipe: read through a dup of the read end", d, 1);
	wait_once("pipe: the dup waited for a thread", d, p[1]);
	see_empty(d);
	raw_write(p[1], "l", 1);
	rd("pipe: raw write, read through the dup", d, 1);
	close(d);

	/* Several writes queued, then read a byte at a time. */
	see_empty(p[0]);
	write(p[1], "mn", 2);
	raw_write(p[1], "op", 2);
	for (int i = 0; i < 4; i++)
		rd("pipe: 4 bytes queued, one at a time", p[0], 1);

	/* End of file after a short read. */
	see_empty(p[0]);
	raw_write(p[1], "q", 1);
	close(p[1]);
	rd("pipe: short read", p[0], 10);
	rd("pipe: end of file", p[0], 10);
	close(p[0]);
	(void)c;
}

/* A packet-mode pipe: each read stops at a packet, so a short read does
 * not mean the pipe is empty. */
static void *two_packets(void *x)
{
	int fd = *(int *)x;
	sleep_ms(20);
	raw_write(fd, "123", 3);
	raw_write(fd, "456", 3);
	return NULL;
}

static void packets(void)
{
	int p[2];
	if (pipe2(p, O_DIRECT) != 0) {
		printf("packet pipe: none here\n");
		return;
	}
	/* The reader waits (the pipe joins its poller), the packets come
	 * with no poke, the poller's edge wakes the reader, which reads one
	 * packet: the other is still there, and its edge may be spent. */
	pthread_t t;
	pthread_create(&t, NULL, two_packets, &p[1]);
	rd("packet pipe: read 10, one packet", p[0], 10);
	rd("packet pipe: the next packet", p[0], 10);
	pthread_join(t, NULL);
	/* O_DIRECT set on the write end by a raw fcntl the shim does not see */
	close(p[0]);
	close(p[1]);
	pipe(p);
	wait_once("pipe: waited once", p[0], p[1]);
	raw3(SYS_fcntl, p[1], F_SETFL, fcntl(p[1], F_GETFL) | O_DIRECT);
	pthread_create(&t, NULL, two_packets, &p[1]);
	rd("pipe made packet-mode unseen: read 10", p[0], 10);
	rd("pipe made packet-mode unseen: the next", p[0], 10);
	pthread_join(t, NULL);
	close(p[0]);
	close(p[1]);
}

/* sendmsg with one descriptor, made raw (no poke, nothing counted). */
static int send_fd(int s, const char *data, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec v = { (void *)data, strlen(data) };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return (int)raw3(SYS_sendmsg, s, (long)&m, 0);
}

static void *fd_then_more(void *x)
{
	int s = *(int *)x;
	sleep_ms(20);
	send_fd(s, "ab", 0);
	raw_write(s, "cd", 2);
	return NULL;
}

static void socketpairs(void)
{
	int s[2];
	char buf[64];
	socketpair(AF_UNIX, SOCK_STREAM, 0, s);

	see_empty(s[0]);
	raw_write(s[1], "a", 1);
	rd("socketpair, unregistered: raw write, then read", s[0], 1);

	wait_once("socketpair: a read that waited for a thread", s[0], s[1]);
	/* a short read: all there was */
	write(s[1], "xy", 2);
	rd("socketpair: short read", s[0], 10);
	raw_write(s[1], "b", 1);
	rd("socketpair: raw write after the short read", s[0], 10);

	pid_t k = fork();
	if (k == 0) {
		send(s[1], "c", 1, 0);
		_exit(0);
	}
	waitpid(k, NULL, 0);
	rd("socketpair: a forked child sent, then read", s[0], 10);

	/* A message carrying a descriptor ends a read early; no room for
	 * it: MSG_CTRUNC, and the bytes behind it are still there. */
	pthread_t t;
	pthread_create(&t, NULL, fd_then_more, &s[1]);
	rd("socketpair: read 10, stops after the fd's message", s[0], 10);
	rd("socketpair: the bytes behind it", s[0], 10);
	pthread_join(t, NULL);

	/* MSG_PEEK leaves the bytes; the read after it gets them. */
	see_empty(s[0]);
	raw_write(s[1], "pk", 2);
	ssize_t r = recv(s[0], buf, 10, MSG_PEEK);
	show("socketpair: peek", buf, r);
	r = recv(s[0], buf, 1, 0);
	show("socketpair: read 1 after the peek", buf, r);
	r = recv(s[0], buf, 1, MSG_PEEK);
	show("socketpair: peek again", buf, r);
	rd("socketpair: read it", s[0], 10);

	/* SO_RCVTIMEO: a read that times out, then data, then a read. */
	struct timeval tv = { 0, 50000 };
	setsockopt(s[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	r = read(s[0], buf, 10);
	printf("%-58s %zd %s\n", "socketpair, SO_RCVTIMEO: nothing there", r,
	       r < 0 && errno == EAGAIN ? "EAGAIN" : "?");
	raw_write(s[1], "t", 1);
	rd("socketpair, SO_RCVTIMEO: raw write, then read", s[0], 10);
	close(s[0]);
	close(s[1]);
}

/* TCP over loopback: the short read proves it empty; data a raw write
 * sends after it must still wake the read. */
static void tcp(void)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	bind(l, (struct sockaddr *)&a, sizeof(a));
	listen(l, 1);
	getsockname(l, (struct sockaddr *)&a, &al);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&a, sizeof(a));
	int s = accept(l, NULL, NULL);
	wait_once("tcp: a read that waited for a thread", s, c);
	write(c, "xy", 2);
	sleep_ms(20);
	rd("tcp: short read", s, 10);
	raw_write(c, "z", 1);
	rd("tcp: raw write after the short read", s, 10);
	close(s);
	close(c);
	close(l);
}

/* The one-byte ping-pong the skip is for, with a raw write slipped in. */
static int ab[2], ba[2];

static void *echoer(void *x)
{
	char c;
	for (int i = 0; i < 500; i++) {
		if (read(ab[0], &c, 1) != 1)
			return NULL;
		if (i == 250)
			raw_write(ba[1], "!", 1);  /* an extra byte, unseen */
		write(ba[1], &c, 1);
	}
	return NULL;
}

static void pingpong(void)
{
	pipe(ab);
	pipe(ba);
	pthread_t t;
	pthread_create(&t, NULL, echoer, NULL);
	int got = 0, extra = 0;
	for (int i = 0; i < 500; i++) {
		char c = (char)('A' + i % 26), r;
		write(ab[1], &c, 1);
		if (read(ba[0], &r, 1) != 1)
			break;
		if (r == '!') {
			extra++;
			if (read(ba[0], &r, 1) != 1)
				break;
		}
		got += r == c;
	}
	pthread_join(t, NULL);
	printf("%-58s %d right, %d extra\n", "ping-pong, 500 one-byte round trips", got, extra);
}

int main(void)
{
	alarm(60);  /* a lost wake-up ends the run */
	setvbuf(stdout, NULL, _IOLBF, 0);
	pipes();
	packets();
	socketpairs();
	tcp();
	pingpong();
	return 0;
}
