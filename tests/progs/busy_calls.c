/* A thread kept busy by calls that never wait (icecast's source thread
 * sends each new block to every listener, and every send succeeds) next
 * to a thread that sleeps 2 ms at a time. Natively they run side by side.
 * Under the shim on one worker the busy one spends nearly all its time
 * inside the shim's hooks or libc, where the monitor's preemption must not
 * switch tasks: it refused every time, and the sleeper woke only when a
 * signal happened to land in the program's own code (icecast: listeners
 * not served for seconds). argv[1]: the call: send (MSG_DONTWAIT, to a
 * socket pair whose other end a third thread drains) or poll (on an fd
 * always ready). Prints whether the sleeper woke at least 25 times while
 * the busy thread ran for 500 ms: about 250 natively on an idle machine;
 * starved, it woke a few times at most. The bound leaves room (20 ms a
 * wake on average) for a machine loaded with other work, where an
 * earlier bound of half the native count failed natively too. */
#include "common.h"
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

static int sv[2];
static int busy_on = 1;
static const char *how;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *busy(void *arg)
{
	char c[64] = { 0 };
	struct pollfd p = { .fd = sv[0], .events = POLLOUT };
	int64_t end = now_ms() + 500;
	long calls = 0;
	while (now_ms() < end) {
		if (!strcmp(how, "poll"))
			poll(&p, 1, 1000);  /* ready at once: never waits */
		else
			send(sv[0], c, sizeof(c), MSG_DONTWAIT);
		calls++;
	}
	__atomic_store_n(&busy_on, 0, __ATOMIC_SEQ_CST);
	return (void *)calls;
}

static void *drain(void *arg)
{
	char buf[65536];
	while (read(sv[1], buf, sizeof(buf)) > 0)
		;
	return arg;
}

int main(int argc, char **argv)
{
	how = argc > 1 ? argv[1] : "send";
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pthread_t b, d;
	pthread_create(&d, NULL, drain, NULL);
	usleep(10000);  /* the drainer waits in its read */
	pthread_create(&b, NULL, busy, NULL);
	usleep(1000);  /* the busy thread has started */
	int wakes = 0;
	while (__atomic_load_n(&busy_on, __ATOMIC_SEQ_CST)) {
		usleep(2000);
		wakes++;
	}
	void *calls;
	pthread_join(b, &calls);
	shutdown(sv[0], SHUT_WR);
	pthread_join(d, NULL);
	printf("%s: the busy thread made calls: %s; the sleeper woke at least 25 times beside it: %s\n",
	       how, (long)calls > 0 ? "yes" : "no", wakes >= 25 ? "yes" : "no");
	if (getenv("BUSY_CALLS_VERBOSE"))
		fprintf(stderr, "%s: %d wakes, %ld calls\n", how, wakes, (long)calls);
	return 0;
}
