/* Calls the kernel answers at once whatever the fd's state, one line of
 * transcript each (the return value and errno name). Under the shim each
 * of these used to wait for a readiness that never came, for ever: a
 * write of 0 bytes to a full pipe or stream socket, a read of 0 bytes
 * from a pipe the runtime had seen empty, accept on a connected socket a
 * recv had found empty (EINVAL), a read shorter than a timerfd's,
 * eventfd's or signalfd's unit and a write to a timerfd or signalfd
 * (EINVAL), an eventfd write of the value it refuses. Then the ordinary
 * waits on the same fds, to show they still wait. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "common.h"

#define show(what, r) show_result(what, r, 44)

static void fill(int fd, char *junk)
{
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (write(fd, junk, 65536) > 0)
		;
	fcntl(fd, F_SETFL, 0);
}

static void *kick(void *p)
{
	usleep(30000);
	kill(getpid(), SIGUSR2);
	return p;
}

int main(void)
{
	char buf[64], *junk = calloc(1, 65536);
	int p[2], sv[2];
	pipe(p);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);

	show("recv MSG_DONTWAIT, empty unix stream", recv(sv[0], buf, 1, MSG_DONTWAIT));
	show("accept on it (connected, not listening)", accept(sv[0], NULL, NULL));
	fill(p[1], junk);
	show("write 0 bytes, full pipe", write(p[1], buf, 0));
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	while (read(p[0], junk, 65536) > 0)
		;
	fcntl(p[0], F_SETFL, 0);
	show("read 0 bytes, emptied pipe", read(p[0], buf, 0));
	fill(sv[0], junk);
	show("write 0 bytes, full unix stream", write(sv[0], buf, 0));
	show("send 0 bytes, full unix stream", send(sv[0], buf, 0, 0));

	int tf = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = { { 0, 0 }, { 0, 30000000 } };
	timerfd_settime(tf, 0, &its, NULL);
	uint64_t v = 0;
	show("timerfd read, a 30ms timer", read(tf, &v, 8));
	show("  expirations", (long)v);
	show("timerfd read, a buffer of 4", read(tf, buf, 4));
	show("timerfd write", write(tf, &v, 8));

	int ef = eventfd(0, 0);
	show("eventfd read, a buffer of 4", read(ef, buf, 4));
	show("eventfd write, 4 bytes", write(ef, buf, 4));
	v = UINT64_MAX;
	show("eventfd write of 2^64-1", write(ef, &v, 8));
	v = 5;
	show("eventfd write of 5", write(ef, &v, 8));
	show("eventfd read", read(ef, &v, 8));
	show("  value", (long)v);

	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &m, NULL);
	int sf = signalfd(-1, &m, 0);
	show("signalfd read, a buffer of 8", read(sf, buf, 8));
	show("signalfd write", write(sf, buf, 8));
	pthread_t t;
	pthread_create(&t, NULL, kick, NULL);
	struct signalfd_siginfo si;
	show("signalfd read, SIGUSR2 30ms later", read(sf, &si, sizeof(si)));
	show("  signo", si.ssi_signo);
	pthread_join(t, NULL);
	return 0;
}
