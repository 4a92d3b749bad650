/* splice and tee with arguments the kernel refuses before it waits (a
 * pipe spliced or teed to itself: EINVAL; an offset on a pipe: ESPIPE;
 * the write end as input: EBADF), on an input pipe that is empty and was
 * last seen so by a splice a SIGALRM interrupted. Alone and with a second
 * thread. Before, under the shim, the call parked before its first
 * attempt (the pipe had been seen empty, nothing since) and waited for
 * ever for bytes that never came. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static void on_alarm(int s)
{
	(void)s;
}

static void *idle(void *p)
{
	usleep(300000);
	return p;
}

static void show(const char *what, long r)
{
	printf("%-40s %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
	fflush(stdout);
}

static void round_(const char *who)
{
	int a[2], b[2];
	pipe(a);
	pipe(b);
	struct itimerval it = { { 0, 0 }, { 0, 30000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	printf("%s:\n", who);
	show("splice, empty pipe, SIGALRM", splice(a[0], NULL, b[1], NULL, 100, 0));
	show("splice of a pipe to itself", splice(a[0], NULL, a[1], NULL, 100, 0));
	show("tee of a pipe to itself", tee(a[0], a[1], 100, 0));
	off64_t off = 0;
	show("splice with an offset on a pipe", splice(a[0], &off, b[1], NULL, 100, 0));
	show("splice from a write end", splice(a[1], NULL, b[1], NULL, 100, 0));
	show("splice into a read end", splice(a[0], NULL, b[0], NULL, 100, 0));
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	round_("alone");
	pthread_t t;
	pthread_create(&t, NULL, idle, NULL);
	round_("with a second thread");
	pthread_join(t, NULL);
	return 0;
}
