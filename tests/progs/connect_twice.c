/* A second connect on a socket a blocking connect connected: natively
 * EISCONN. The shim makes the call non-blocking and waits itself; the
 * kernel then keeps the socket "connecting" until a connect call sees
 * the handshake over (that call answers 0), so the program's second
 * connect answered 0. Both ways the shim can finish: on loopback the
 * handshake ends inside the call; behind a full accept queue (backlog
 * 0: one connection queued, the next SYN dropped) the connect waits for
 * the SYN sent again about 1 s later, after a thread accepted the first
 * one. Then a connect bounded by SO_SNDTIMEO (EINPROGRESS), and the
 * calls after it, as the kernel answers them. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include "common.h"

#define show(what, r) show_result(what, r, 48)

static int lst;

static void *accept_later(void *p)
{
	usleep(50000);
	int a = accept(lst, NULL, NULL);
	usleep(1500000);  /* the second stays queued: the third finds it full */
	int b = accept(lst, NULL, NULL);
	int c = accept(lst, NULL, NULL);
	close(a);
	close(b);
	close(c);
	return p;
}

int main(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	lst = socket(AF_INET, SOCK_STREAM, 0);
	bind(lst, (struct sockaddr *)&sa, sizeof(sa));
	listen(lst, 0);
	getsockname(lst, (struct sockaddr *)&sa, &sl);

	int c1 = socket(AF_INET, SOCK_STREAM, 0);
	show("connect (loopback, the queue empty)", connect(c1, (struct sockaddr *)&sa, sizeof(sa)));
	show("connect again", connect(c1, (struct sockaddr *)&sa, sizeof(sa)));
	pthread_t t;
	pthread_create(&t, NULL, accept_later, NULL);
	int c2 = socket(AF_INET, SOCK_STREAM, 0);
	show("connect behind a full queue", connect(c2, (struct sockaddr *)&sa, sizeof(sa)));
	show("connect again", connect(c2, (struct sockaddr *)&sa, sizeof(sa)));
	int c3 = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { 0, 200000 };
	setsockopt(c3, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	show("connect with SO_SNDTIMEO 200ms, the queue full", connect(c3, (struct sockaddr *)&sa, sizeof(sa)));
	show("connect again at once", connect(c3, (struct sockaddr *)&sa, sizeof(sa)));
	pthread_join(t, NULL);
	close(c1);
	close(c2);
	close(c3);
	return 0;
}
