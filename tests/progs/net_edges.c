/* Socket and pipe edge cases, one line of transcript each: the return value
 * and errno name the program sees. Run natively and under the shim; the
 * transcripts must be identical. */
#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "common.h"

#define show(what, r) show_result(what, r, 44)

struct delayed { int fd; int ms; const char *data; size_t len; int how; };

static void *later_write(void *p)
{
	struct delayed *d = p;
	usleep((useconds_t)d->ms * 1000);
	if (d->how == 1)
		shutdown(d->fd, SHUT_RDWR);
	else if (d->how == 2)
		shutdown(d->fd, SHUT_RD);
	else if (d->how == 3) {  /* close fd, then send to it from the fd in len */
		close(d->fd);
		send((int)d->len, "x", 1, 0);
	}
	else
		write(d->fd, d->data, d->len);
	return NULL;
}

static pthread_t after(struct delayed *d)
{
	pthread_t t;
	pthread_create(&t, NULL, later_write, d);
	return t;
}

static void *slow_reader(void *p)
{
	int fd = *(int *)p;
	char buf[4096];
	long total = 0;
	ssize_t n;
	usleep(20000);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	return (void *)total;
}

static int tcp_pair(int *a, int *b, int *lsock)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	bind(ls, (struct sockaddr *)&sa, sizeof(sa));
	listen(ls, 16);
	getsockname(ls, (struct sockaddr *)&sa, &sl);
	*a = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*a, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	*b = accept(ls, NULL, NULL);
	if (lsock)
		*lsock = ls;
	else
		close(ls);
	return *b < 0 ? -1 : 0;
}

int main(void)
{
	int sv[2], r;
	char buf[256];
	signal(SIGPIPE, SIG_IGN);

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	struct timeval tv = { 0, 50000 };
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	show("SO_RCVTIMEO 50ms read, no data", read(sv[0], buf, sizeof(buf)));
	show("SO_RCVTIMEO 50ms recv, no data", recv(sv[0], buf, sizeof(buf), 0));
	tv.tv_usec = 0;
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

	int fl = fcntl(sv[0], F_GETFL);
	show("F_GETFL O_NONBLOCK bit (fresh)", fl & O_NONBLOCK);
	fcntl(sv[0], F_SETFL, fl | O_NONBLOCK);
	show("F_GETFL O_NONBLOCK bit (after set)", !!(fcntl(sv[0], F_GETFL) & O_NONBLOCK));
	show("read with O_NONBLOCK, no data", read(sv[0], buf, sizeof(buf)));
	fcntl(sv[0], F_SETFL, fl);
	show("F_GETFL O_NONBLOCK bit (after clear)", !!(fcntl(sv[0], F_GETFL) & O_NONBLOCK));

	int on = 1, off = 0;
	ioctl(sv[0], FIONBIO, &on);
	show("read after FIONBIO on, no data", read(sv[0], buf, sizeof(buf)));
	show("F_GETFL after FIONBIO on", !!(fcntl(sv[0], F_GETFL) & O_NONBLOCK));
	ioctl(sv[0], FIONBIO, &off);
	show("recv MSG_DONTWAIT, no data", recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT));

	struct delayed d1 = { sv[1], 30, "hello", 5, 0 };
	pthread_t t = after(&d1);
	show("blocking read, data after 30ms", read(sv[0], buf, sizeof(buf)));
	pthread_join(t, NULL);

	write(sv[1], "peekaboo", 8);
	show("recv MSG_PEEK", recv(sv[0], buf, sizeof(buf), MSG_PEEK));
	r = (int)read(sv[0], buf, sizeof(buf));
	show("read after peek", r);
	show("peeked bytes equal read bytes", !memcmp(buf, "peekaboo", 8));

	write(sv[1], "12345", 5);
	struct delayed d2 = { sv[1], 30, "67890", 5, 0 };
	t = after(&d2);
	show("recv MSG_WAITALL 10, 5 now 5 later", recv(sv[0], buf, 10, MSG_WAITALL));
	pthread_join(t, NULL);

	/* A blocking write larger than the socket buffer returns when all is
	 * written, while a slow reader drains it. */
	size_t big = 4 << 20;
	char *bp = calloc(1, big);
	int rfd = sv[0];
	pthread_create(&t, NULL, slow_reader, &rfd);
	show("blocking write of 4 MiB", write(sv[1], bp, big));
	shutdown(sv[1], SHUT_WR);
	void *got;
	pthread_join(t, &got);
	show("reader received", (long)got);
	show("read at EOF after peer SHUT_WR", read(sv[0], buf, sizeof(buf)));
	show("write back after peer SHUT_WR (half-close)", write(sv[0], "back", 4));
	show("peer reads it", read(sv[1], buf, sizeof(buf)));
	close(sv[1]);
	show("write to a closed peer", write(sv[0], "x", 1));
	close(sv[0]);
	free(bp);

	/* shutdown by another thread wakes a blocked reader with EOF */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	struct delayed d3 = { sv[0], 30, NULL, 0, 2 };
	t = after(&d3);
	show("blocked read, SHUT_RD by another thread", read(sv[0], buf, sizeof(buf)));
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);

	/* TCP: reset by the peer, refused connect, EMFILE on accept */
	int a, b, ls;
	if (tcp_pair(&a, &b, &ls) == 0) {
		struct linger lg = { 1, 0 };
		setsockopt(b, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(b);
		usleep(20000);
		show("read after the peer reset", read(a, buf, sizeof(buf)));
		close(a);

		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		getsockname(ls, (struct sockaddr *)&sa, &sl);
		int c = socket(AF_INET, SOCK_STREAM, 0);
		connect(c, (struct sockaddr *)&sa, sizeof(sa));
		usleep(20000);
		struct rlimit old, low;
		getrlimit(RLIMIT_NOFILE, &old);
		int probe = dup(0);
		close(probe);
		low = old;
		low.rlim_cur = (rlim_t)probe;  /* no fd number left for accept */
		setrlimit(RLIMIT_NOFILE, &low);
		show("accept with no fd left", accept(ls, NULL, NULL));
		setrlimit(RLIMIT_NOFILE, &old);
		int acc = accept(ls, NULL, NULL);
		show("accept after raising the limit", acc >= 0);
		close(acc);
		/* the listener's O_NONBLOCK as the program sees it, after the
		 * accepts above (the shim keeps it set underneath) */
		show("listener F_GETFL O_NONBLOCK after accepts", !!(fcntl(ls, F_GETFL) & O_NONBLOCK));
		int one = 1, zero = 0;
		ioctl(ls, FIONBIO, &one);
		show("accept on a listener made non-blocking, none pending", accept(ls, NULL, NULL));
		show("listener F_GETFL O_NONBLOCK after FIONBIO on", !!(fcntl(ls, F_GETFL) & O_NONBLOCK));
		ioctl(ls, FIONBIO, &zero);
		show("listener F_GETFL O_NONBLOCK after FIONBIO off", !!(fcntl(ls, F_GETFL) & O_NONBLOCK));
		fcntl(ls, F_SETFL, fcntl(ls, F_GETFL) | O_NONBLOCK);
		show("accept after F_SETFL O_NONBLOCK, none pending", accept(ls, NULL, NULL));
		fcntl(ls, F_SETFL, fcntl(ls, F_GETFL) & ~O_NONBLOCK);
		show("listener F_GETFL O_NONBLOCK after clearing", !!(fcntl(ls, F_GETFL) & O_NONBLOCK));
		close(c);
		close(ls);
		c = socket(AF_INET, SOCK_STREAM, 0);
		show("connect to a closed port", connect(c, (struct sockaddr *)&sa, sizeof(sa)));
		close(c);
	}

	/* poll / select / epoll_wait: timeouts and readiness */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	struct pollfd pf = { sv[0], POLLIN, 0 };
	show("poll 50ms, nothing ready", poll(&pf, 1, 50));
	show("poll 0ms, nothing ready", poll(&pf, 1, 0));
	struct delayed d4 = { sv[1], 30, "p", 1, 0 };
	t = after(&d4);
	r = poll(&pf, 1, 5000);
	show("poll, data after 30ms", r);
	show("poll revents POLLIN", !!(pf.revents & POLLIN));
	pthread_join(t, NULL);
	read(sv[0], buf, 1);
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(sv[0], &rs);
	struct timeval stv = { 0, 50000 };
	show("select 50ms, nothing ready", select(sv[0] + 1, &rs, NULL, NULL, &stv));
	FD_SET(sv[0], &rs);
	struct delayed d5 = { sv[1], 30, "s", 1, 0 };
	t = after(&d5);
	stv = (struct timeval){ 5, 0 };
	show("select, data after 30ms", select(sv[0] + 1, &rs, NULL, NULL, &stv));
	show("select fd set", FD_ISSET(sv[0], &rs));
	pthread_join(t, NULL);
	read(sv[0], buf, 1);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = sv[0] }, out[4];
	epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev);
	show("epoll_wait 50ms, nothing ready", epoll_wait(ep, out, 4, 50));
	struct delayed d6 = { sv[1], 30, "e", 1, 0 };
	t = after(&d6);
	show("epoll_wait, data after 30ms", epoll_wait(ep, out, 4, 5000));
	show("epoll_wait reports the fd", out[0].data.fd == sv[0]);
	pthread_join(t, NULL);
	close(ep);
	close(sv[0]);
	close(sv[1]);

	/* datagrams in batches: a blocking recvmmsg waits for all of them */
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	struct delayed d8 = { sv[1], 20, "one", 3, 0 };
	struct delayed d9 = { sv[1], 40, "two", 3, 0 };
	pthread_t t2;
	t = after(&d8);
	t2 = after(&d9);
	char b1[8], b2[8], b3[8];
	struct iovec iv[3] = { { b1, 8 }, { b2, 8 }, { b3, 8 } };
	struct mmsghdr mv[3] = { 0 };
	for (int i = 0; i < 3; i++) {
		mv[i].msg_hdr.msg_iov = &iv[i];
		mv[i].msg_hdr.msg_iovlen = 1;
	}
	show("recvmmsg 2 messages, sent 20ms and 40ms later", recvmmsg(sv[0], mv, 2, 0, NULL));
	show("  lengths", mv[0].msg_len * 10 + mv[1].msg_len);
	pthread_join(t, NULL);
	pthread_join(t2, NULL);
	struct delayed d10 = { sv[1], 20, "three", 5, 0 };
	t = after(&d10);
	show("recvmmsg 3 with MSG_WAITFORONE", recvmmsg(sv[0], mv, 3, MSG_WAITFORONE, NULL));
	pthread_join(t, NULL);
	struct iovec ov[2] = { { "ab", 2 }, { "cde", 3 } };
	struct mmsghdr om[2] = { 0 };
	om[0].msg_hdr.msg_iov = &ov[0];
	om[0].msg_hdr.msg_iovlen = 1;
	om[1].msg_hdr.msg_iov = &ov[1];
	om[1].msg_hdr.msg_iovlen = 1;
	show("sendmmsg 2 messages", sendmmsg(sv[1], om, 2, 0));
	show("recvmmsg MSG_DONTWAIT takes both", recvmmsg(sv[0], mv, 3, MSG_DONTWAIT, NULL));
	show("recvmmsg MSG_DONTWAIT, none left", recvmmsg(sv[0], mv, 3, MSG_DONTWAIT, NULL));
	/* recvmmsg with a timeout: the kernel looks at it after each
	 * datagram only, and writes back what is left when some came */
	struct timespec tmo = { 100, 0 };
	struct delayed d11 = { sv[1], 20, "four", 4, 0 };
	struct delayed d12 = { sv[1], 40, "five!", 5, 0 };
	t = after(&d11);
	t2 = after(&d12);
	show("recvmmsg 2, 100 s timeout, sent 20/40ms later", recvmmsg(sv[0], mv, 2, 0, &tmo));
	show("  lengths", mv[0].msg_len * 10 + mv[1].msg_len);
	show("  timeout left 90-100 s", tmo.tv_sec >= 90 && tmo.tv_sec < 100);
	pthread_join(t, NULL);
	pthread_join(t2, NULL);
	send(sv[1], "a", 1, 0);
	send(sv[1], "bb", 2, 0);
	tmo = (struct timespec){ 0, 0 };
	show("recvmmsg 3 of 2 queued, timeout 0", recvmmsg(sv[0], mv, 3, 0, &tmo));
	show("  timeout left", tmo.tv_sec * 1000000000L + tmo.tv_nsec);
	send(sv[1], "ccc", 3, 0);
	send(sv[1], "dddd", 4, 0);
	tmo = (struct timespec){ 100, 0 };
	show("recvmmsg 3 of 3 queued, 100 s timeout", recvmmsg(sv[0], mv, 3, 0, &tmo));
	show("  lengths", mv[0].msg_len * 100 + mv[1].msg_len * 10 + mv[2].msg_len);
	tmo = (struct timespec){ 0, 1 };
	struct delayed d13 = { sv[1], 20, "six", 3, 0 };
	struct delayed d14 = { sv[1], 40, "seven", 5, 0 };
	t = after(&d13);
	t2 = after(&d14);
	show("recvmmsg 2, 1 ns timeout, sent 20/40ms later", recvmmsg(sv[0], mv, 2, 0, &tmo));
	show("  length", mv[0].msg_len);
	show("  timeout left", tmo.tv_sec * 1000000000L + tmo.tv_nsec);
	pthread_join(t, NULL);
	pthread_join(t2, NULL);
	show("recvmmsg MSG_DONTWAIT, the one left", recvmmsg(sv[0], mv, 3, MSG_DONTWAIT, NULL));
	tmo = (struct timespec){ 7, 0 };
	show("recvmmsg MSG_DONTWAIT + timeout, empty", recvmmsg(sv[0], mv, 3, MSG_DONTWAIT, &tmo));
	show("  timeout untouched", tmo.tv_sec);
	tmo = (struct timespec){ 0, 1000000000 };
	show("recvmmsg, timeout tv_nsec 1e9", recvmmsg(sv[0], mv, 3, 0, &tmo));
	tmo = (struct timespec){ -1, 0 };
	show("recvmmsg, negative timeout", recvmmsg(sv[0], mv, 3, 0, &tmo));
	close(sv[0]);
	close(sv[1]);

	/* a connected UDP socket's error (port unreachable) while a
	 * recvmmsg that has one datagram waits for the next: the count now,
	 * the error at the next call */
	int ua = socket(AF_INET, SOCK_DGRAM, 0), ub = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in la = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in lb = la;
	socklen_t ll = sizeof(la);
	bind(ua, (struct sockaddr *)&la, sizeof(la));
	bind(ub, (struct sockaddr *)&lb, sizeof(lb));
	getsockname(ua, (struct sockaddr *)&la, &ll);
	ll = sizeof(lb);
	getsockname(ub, (struct sockaddr *)&lb, &ll);
	connect(ua, (struct sockaddr *)&lb, sizeof(lb));
	sendto(ub, "one", 3, 0, (struct sockaddr *)&la, sizeof(la));
	struct delayed d15 = { ub, 30, NULL, (size_t)ua, 3 };
	t = after(&d15);
	show("recvmmsg 2, port unreachable after 1", recvmmsg(ua, mv, 2, 0, NULL));
	pthread_join(t, NULL);
	show("recvmmsg next, MSG_DONTWAIT", recvmmsg(ua, mv, 2, MSG_DONTWAIT, NULL));
	show("recvmmsg then, MSG_DONTWAIT", recvmmsg(ua, mv, 2, MSG_DONTWAIT, NULL));
	/* the error queue (IP_RECVERR) never waits, blocking socket or not */
	int recverr = 1;
	setsockopt(ua, IPPROTO_IP, IP_RECVERR, &recverr, sizeof(recverr));
	char eb[64], cb[256];
	struct iovec ei = { eb, sizeof(eb) };
	struct msghdr em = { .msg_iov = &ei, .msg_iovlen = 1, .msg_control = cb,
			     .msg_controllen = sizeof(cb) };
	show("recvmsg MSG_ERRQUEUE, empty", recvmsg(ua, &em, MSG_ERRQUEUE));
	show("recv MSG_ERRQUEUE, empty", recv(ua, eb, sizeof(eb), MSG_ERRQUEUE));
	show("recvmmsg MSG_ERRQUEUE, empty", recvmmsg(ua, mv, 2, MSG_ERRQUEUE, NULL));
	send(ua, "y", 1, 0);
	usleep(20000);
	em.msg_controllen = sizeof(cb);
	show("recvmsg MSG_ERRQUEUE, port unreachable", recvmsg(ua, &em, MSG_ERRQUEUE));
	struct cmsghdr *cm = CMSG_FIRSTHDR(&em);
	show("  ee_errno", cm ? (long)((struct sock_extended_err *)CMSG_DATA(cm))->ee_errno : -2);
	close(ua);

	/* urgent data (MSG_OOB) is never waited for: EINVAL without it */
	int ol = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in oa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t oal = sizeof(oa);
	bind(ol, (struct sockaddr *)&oa, sizeof(oa));
	listen(ol, 1);
	getsockname(ol, (struct sockaddr *)&oa, &oal);
	int oc = socket(AF_INET, SOCK_STREAM, 0);
	connect(oc, (struct sockaddr *)&oa, sizeof(oa));
	int od = accept(ol, NULL, NULL);
	show("recv MSG_OOB, no urgent data", recv(od, eb, 1, MSG_OOB));
	send(oc, "ab", 2, MSG_OOB);
	usleep(20000);
	show("recv MSG_OOB, the urgent byte", recv(od, eb, 1, MSG_OOB));
	show("  its value", eb[0]);
	show("recv the rest", recv(od, eb, sizeof(eb), 0));
	show("recv MSG_OOB again, none", recv(od, eb, 1, MSG_OOB));
	close(oc);
	close(od);
	close(ol);

	/* pipes */
	int p[2];
	pipe(p);
	struct delayed d7 = { p[1], 30, "pipe!", 5, 0 };
	t = after(&d7);
	show("pipe read, data after 30ms", read(p[0], buf, sizeof(buf)));
	pthread_join(t, NULL);
	close(p[0]);
	show("pipe write, read end closed", write(p[1], "x", 1));
	close(p[1]);
	pipe2(p, O_NONBLOCK);
	show("pipe2 O_NONBLOCK read, empty", read(p[0], buf, sizeof(buf)));
	close(p[0]);
	close(p[1]);
	show("read on a closed fd", read(p[0], buf, 1));
	show("close a closed fd", close(p[0]));
	return 0;
}
