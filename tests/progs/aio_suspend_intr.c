/* glibc's aio_suspend with a timeout, on a read of an empty pipe that
 * never completes, while another thread wakes every 2 ms: it must end
 * with EAGAIN at the timeout, each of 5 times; a handler of the
 * program's that runs meanwhile (SIGALRM) ends it with EINTR, as
 * natively. glibc waits inside libc with a futex wait that has an
 * absolute timeout (FUTEX_WAIT_BITSET), which a handler ends with EINTR
 * and the kernel does not restart; under the shim the runtime's own
 * signal, sent to the worker for the other thread's due timer, ended it
 * so, and aio_suspend returned EINTR early (rt/handoff.c). */
#include <aio.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile int stop;

static void *ticker(void *p)
{
	while (!stop)
		usleep(2000);
	return p;
}

static void on_alarm(int s)
{
	(void)s;
}

int main(void)
{
	int p[2];
	char buf[16];
	pipe(p);
	struct aiocb rd = { .aio_fildes = p[0], .aio_buf = buf, .aio_nbytes = sizeof(buf) };
	const struct aiocb *list[1] = { &rd };
	aio_read(&rd);
	pthread_t t;
	pthread_create(&t, NULL, ticker, NULL);
	for (int i = 0; i < 5; i++) {
		struct timespec ts = { 0, 100000000 };
		int r = aio_suspend(list, 1, &ts);
		printf("aio_suspend 100ms, nothing done: %d %s\n", r, r ? strerrorname_np(errno) : "");
	}
	struct sigaction sa = { .sa_handler = on_alarm };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 50000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	struct timespec ts = { 5, 0 };
	int r = aio_suspend(list, 1, &ts);
	printf("aio_suspend 5s, SIGALRM at 50ms: %d %s\n", r, r ? strerrorname_np(errno) : "");
	write(p[1], "hello", 5);
	while (aio_error(&rd) == EINPROGRESS)
		aio_suspend(list, 1, NULL);
	printf("the read: %zd\n", aio_return(&rd));
	stop = 1;
	pthread_join(t, NULL);
	return 0;
}
