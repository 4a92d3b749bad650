/* Several threads waiting on one pipe, the first of them in poll() (or
 * epoll_wait, or select), the others in read() or poll(): one write must
 * end every wait, since poll consumes nothing. CPython's multiprocessing
 * Pool has this shape: its worker-handler thread waits in poll() on the
 * result pipe among others while its result-handler thread reads that
 * pipe. A runtime that wakes only the first waiter of an event and lets
 * a poller return without passing the event on leaves the reader parked
 * for good (the Pool then hangs at its end, its worker handler spinning
 * on a pipe that stays readable).
 *
 * For each kind of first waiter: the waiters are started one after the
 * other (20 ms apart, so they queue in that order), then main writes one
 * byte more than there are readers (each reads one: a poll that looks
 * after the reads still finds one, natively too) and joins them all; an
 * alarm of 10 s ends a hung run. */
#include "common.h"
#include <pthread.h>
#include <poll.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <unistd.h>

static int pfd[2];
static int epfd;

static void *poller(void *arg)
{
	(void)arg;
	struct pollfd p = { .fd = pfd[0], .events = POLLIN };
	int r = poll(&p, 1, -1);
	return (void *)(long)(r == 1 && (p.revents & POLLIN));
}

static void *epoller(void *arg)
{
	(void)arg;
	struct epoll_event ev;
	int r = epoll_wait(epfd, &ev, 1, -1);
	return (void *)(long)(r == 1);
}

static void *selecter(void *arg)
{
	(void)arg;
	fd_set s;
	FD_ZERO(&s);
	FD_SET(pfd[0], &s);
	int r = select(pfd[0] + 1, &s, NULL, NULL, NULL);
	return (void *)(long)(r == 1 && FD_ISSET(pfd[0], &s));
}

static void *reader(void *arg)
{
	(void)arg;
	char c;
	return (void *)(long)(read(pfd[0], &c, 1) == 1 && c == 'x');
}

static void run(const char *name, void *(*first)(void *), void *(*second)(void *),
		void *(*third)(void *))
{
	void *(*fn[3])(void *) = { first, second, third };
	pthread_t t[3];
	int n = 0;
	if (pipe(pfd))
		return;
	epfd = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = pfd[0] };
	epoll_ctl(epfd, EPOLL_CTL_ADD, pfd[0], &ev);
	for (; n < 3 && fn[n]; n++) {
		pthread_create(&t[n], NULL, fn[n], NULL);
		sleep_ms(20);
	}
	int readers = 0;
	for (int i = 0; i < n; i++)
		readers += fn[i] == reader;
	if (write(pfd[1], "xxxx", readers + 1) != readers + 1)
		return;
	printf("%s:", name);
	for (int i = 0; i < n; i++) {
		void *ok;
		pthread_join(t[i], &ok);
		printf(" %s", ok ? "returned" : "failed");
	}
	printf("\n");
	close(pfd[0]);
	close(pfd[1]);
	close(epfd);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(10);
	run("poll, then read", poller, reader, NULL);
	run("poll, poll, then read", poller, poller, reader);
	run("epoll_wait, then read", epoller, reader, NULL);
	run("select, then poll", selecter, poller, NULL);
	run("read, then poll", reader, poller, NULL);
	return 0;
}
