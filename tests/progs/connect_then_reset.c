/* A blocking connect to a loopback listener that is closed as soon as the
 * connection sits in its accept queue (so the established connection is
 * reset at once). On loopback the handshake ends inside the connect call,
 * so connect returns 0 and the reset shows on the next call (recv:
 * ECONNRESET). The shim made the call non-blocking, got EINPROGRESS
 * (the kernel ends the handshake as that call returns) and then waited
 * for writability before looking: a task that ran meanwhile (here the
 * closer, on the same worker) reset the connection first, and connect
 * itself failed with ECONNRESET. stress-ng --sockabuse (its server
 * closes its listener every 16 accepts) took each such failure as a
 * refused connect and slept 10 ms or more: 86 bogo ops against 1,656. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ROUNDS 100

static int listener = -1;   /* the closer closes it once a connection is queued */
static int stop;

static void *closer(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		int l = __atomic_load_n(&listener, __ATOMIC_ACQUIRE);
		struct pollfd p = { .fd = l, .events = POLLIN };
		if (l >= 0 && poll(&p, 1, 0) == 1) {
			close(l);
			__atomic_store_n(&listener, -1, __ATOMIC_RELEASE);
		} else {
			sched_yield();
		}
	}
	return NULL;
}

int main(void)
{
	pthread_t th;
	if (pthread_create(&th, NULL, closer, NULL))
		return 1;
	int connected = 0, reset_after = 0, other = 0;
	for (int i = 0; i < ROUNDS; i++) {
		int l = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t al = sizeof(a);
		if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4) ||
		    getsockname(l, (struct sockaddr *)&a, &al))
			return 1;
		int s = socket(AF_INET, SOCK_STREAM, 0);
		__atomic_store_n(&listener, l, __ATOMIC_RELEASE);
		int r = connect(s, (struct sockaddr *)&a, sizeof(a));
		int e = errno;
		while (__atomic_load_n(&listener, __ATOMIC_ACQUIRE) >= 0)
			sched_yield();  /* the closer has closed it */
		if (r == 0) {
			connected++;
			char c;
			if (recv(s, &c, 1, 0) < 0 && errno == ECONNRESET)
				reset_after++;
		} else if (e != ECONNRESET) {
			other++;
		}
		close(s);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	/* Natively a reset could land between the handshake's end and the
	 * connect call's return: a window of a few hundred ns, so allow 5%. */
	printf("%d rounds: connect returned 0 in at least 95%%: %s\n", ROUNDS,
	       connected >= ROUNDS * 95 / 100 ? "yes" : "no");
	printf("the reset seen by recv after a connect that returned 0, in at least 95%% of those: %s\n",
	       reset_after >= connected * 95 / 100 ? "yes" : "no");
	printf("connect failed other than ECONNRESET: %d\n", other);
	fprintf(stderr, "connected %d, reset after %d, other %d\n", connected, reset_after, other);
	return 0;
}
