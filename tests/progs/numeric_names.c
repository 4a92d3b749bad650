/* getnameinfo asked for numbers only (NI_NUMERICHOST, NI_NUMERICSERV),
 * as stunnel does three times a connection to log its peers: glibc
 * formats the address and port without a resolver or a file, so the
 * call never waits. Each went to the blocking pool (a hand-off to a pool
 * thread and back) all the same. Two threads format 200 IPv4 and IPv6
 * addresses each, one with a numeric host and no service; a host name
 * asked without NI_NUMERICHOST (a lookup in /etc/hosts) ends. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static unsigned long sum;
static char line[2][NI_MAXHOST + 64];  /* printed after the joins, in order */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *format(void *arg)
{
	int v6 = arg != NULL;
	unsigned long h = 0;
	for (int i = 0; i < 200; i++) {
		struct sockaddr_storage ss;
		memset(&ss, 0, sizeof(ss));
		socklen_t len;
		if (v6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			a->sin6_family = AF_INET6;
			a->sin6_port = htons((unsigned short)(1000 + i));
			inet_pton(AF_INET6, "2001:db8::1", &a->sin6_addr);
			a->sin6_addr.s6_addr[15] = (unsigned char)i;
			len = sizeof(*a);
		} else {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			a->sin_family = AF_INET;
			a->sin_port = htons((unsigned short)(2000 + i));
			a->sin_addr.s_addr = htonl(0x0a000000u + (unsigned)i);
			len = sizeof(*a);
		}
		char host[NI_MAXHOST], serv[NI_MAXSERV];
		int r = getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), serv,
				    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);
		int r2 = getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), NULL, 0,
				     NI_NUMERICHOST);
		if (i == 7)
			snprintf(line[v6], sizeof(line[v6]), "%s: %d %d %s port %s",
				 v6 ? "ipv6" : "ipv4", r, r2, host, serv);
		for (const char *p = host; *p; p++)
			h = h * 31 + (unsigned char)*p;
		for (const char *p = serv; *p; p++)
			h = h * 31 + (unsigned char)*p;
	}
	pthread_mutex_lock(&lock);
	sum += h;
	pthread_mutex_unlock(&lock);
	return NULL;
}

int main(void)
{
	pthread_t t[2];
	pthread_create(&t[0], NULL, format, NULL);
	pthread_create(&t[1], NULL, format, (void *)1);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	printf("%s\n%s\n800 numeric answers, sum %lu\n", line[0], line[1], sum);
	struct sockaddr_in lo = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char host[NI_MAXHOST];
	int r = getnameinfo((struct sockaddr *)&lo, sizeof(lo), host, sizeof(host), NULL, 0, 0);
	printf("127.0.0.1 by name: %d\n", r);
	return 0;
}
