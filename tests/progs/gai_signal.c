/* A signal for a thread in a name lookup. Run with tests/progs/
 * libslowgai.so preloaded (after the shim), whose lookup of "slow.test"
 * takes 1.5 s. Natively the handler runs at once, during the lookup
 * (glibc's resolver waits again after EINTR), and a handler that leaves
 * by siglongjmp leaves the lookup (an alarm() timeout around a lookup).
 * Under the shim the lookup runs on a pool thread and the task waited for
 * it with its signals held: the handler ran only after the lookup, and
 * the siglongjmp out came too late to cut it short.
 *
 * A pthread_cancel during the lookup cancels the thread there. The same
 * for gethostbyname (no siglongjmp: natively it would leave
 * glibc's lock of its static result held). Then getnameinfo of 127.0.0.1
 * into a buffer that fits and one that does not (EAI_OVERFLOW, the buffer as glibc leaves it), and lookups
 * after the abandoned one. */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile int in_lookup, during, handled, jump;

static void on_usr1(int s)
{
	(void)s;
	handled++;
	during = in_lookup;
	if (jump) {
		jump = 0;
		siglongjmp(jb, 1);
	}
}

static void ms(int n)
{
	struct timespec t = { n / 1000, (n % 1000) * 1000000L };
	while (nanosleep(&t, &t))
		;
}

static const char *lookup(const char *name, char *out, size_t n)
{
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	in_lookup = 1;
	int r = getaddrinfo(name, "80", &hints, &res);
	in_lookup = 0;
	if (r) {
		snprintf(out, n, "error %s", gai_strerror(r));
		return out;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)res->ai_addr;
	snprintf(out, n, "%s port %d", inet_ntoa(a->sin_addr), ntohs(a->sin_port));
	freeaddrinfo(res);
	return out;
}

static void *looker(void *arg)
{
	char buf[128];
	int jumping = arg != NULL;
	if (jumping && sigsetjmp(jb, 1)) {
		in_lookup = 0;
		printf("left the lookup by siglongjmp\n");
		printf("then localhost: %s\n", lookup("localhost", buf, sizeof(buf)));
		return NULL;
	}
	jump = jumping;
	printf("slow.test: %s\n", lookup("slow.test", buf, sizeof(buf)));
	return NULL;
}

static volatile int cancelled_during;

static void at_cancel(void *arg)
{
	(void)arg;
	cancelled_during = in_lookup;
}

static void *cancellee(void *arg)
{
	char buf[128];
	(void)arg;
	pthread_cleanup_push(at_cancel, NULL);
	lookup("slow.test", buf, sizeof(buf));
	/* not cancelled during it: the next cancellation point does */
	ms(2000);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *by_name(void *arg)
{
	(void)arg;
	struct hostent *h = gethostbyname("slow.test");
	in_lookup = 0;
	printf("gethostbyname slow.test: %s\n", h ? h->h_name : "none");
	return NULL;
}

static void one(int jumping)
{
	handled = during = 0;
	pthread_t t;
	pthread_create(&t, NULL, looker, jumping ? (void *)1 : NULL);
	while (!in_lookup)
		ms(1);
	ms(100);
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	printf("%s: handler ran %d time(s), during the lookup: %s\n",
	       jumping ? "siglongjmp out" : "returning handler", handled, during ? "yes" : "no");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	one(0);
	one(1);
	ms(1600);  /* the lookup left behind ends meanwhile */
	char buf[128];
	printf("again slow.test: %s\n", lookup("slow.test", buf, sizeof(buf)));

	/* a cancellation during the lookup (a cancellation point natively:
	 * the name service's sleep) */
	cancelled_during = -1;
	in_lookup = 0;
	pthread_t c;
	void *ret;
	pthread_create(&c, NULL, cancellee, NULL);
	while (!in_lookup)
		ms(1);
	ms(100);
	pthread_cancel(c);
	pthread_join(c, &ret);
	printf("cancelled: %s, during the lookup: %s\n", ret == PTHREAD_CANCELED ? "yes" : "no",
	       cancelled_during == 1 ? "yes" : cancelled_during == 0 ? "no" : "not at all");

	/* the same for gethostbyname (glibc's static result) */
	handled = during = 0;
	in_lookup = 1;
	pthread_t t;
	pthread_create(&t, NULL, by_name, NULL);
	ms(100);
	pthread_kill(t, SIGUSR1);
	pthread_join(t, NULL);
	printf("gethostbyname: handler ran %d time(s), during the lookup: %s\n", handled,
	       during ? "yes" : "no");

	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(80);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	char host[64], small[4] = "abc", serv[32];
	int r = getnameinfo((struct sockaddr *)&a, sizeof(a), host, sizeof(host), serv, sizeof(serv),
			    NI_NUMERICSERV);
	printf("getnameinfo: %d %s %s\n", r, r ? gai_strerror(r) : host, r ? "" : serv);
	r = getnameinfo((struct sockaddr *)&a, sizeof(a), small, sizeof(small), NULL, 0, 0);
	printf("getnameinfo into 4 bytes: %s, buffer \"%.3s\"\n", r ? gai_strerror(r) : "0", small);
	return 0;
}
