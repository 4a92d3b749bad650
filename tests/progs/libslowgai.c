/* A name service that is slow for one name: preloaded after the shim (or
 * alone, natively), its getaddrinfo and gethostbyname take 1.5 s for
 * "slow.test" (as a DNS server that answers late would) and then answer
 * for 127.0.0.1 and "localhost"; any other name goes to glibc's. The sleep resumes after a signal, as glibc's
 * resolver waits again after EINTR. (tests/progs/gai_signal.c) */
#include <dlfcn.h>
#include <netdb.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void slowly(void)
{
	struct timespec ts = { 1, 500000000 };
	while (nanosleep(&ts, &ts) != 0)
		;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	int (*next)(const char *, const char *, const struct addrinfo *, struct addrinfo **) =
		(int (*)(const char *, const char *, const struct addrinfo *, struct addrinfo **))
			dlsym(RTLD_NEXT, "getaddrinfo");
	if (node && !strcmp(node, "slow.test")) {
		slowly();
		node = "127.0.0.1";
	}
	return next(node, service, hints, res);
}

struct hostent *gethostbyname(const char *name)
{
	struct hostent *(*next)(const char *) =
		(struct hostent * (*)(const char *)) dlsym(RTLD_NEXT, "gethostbyname");
	if (name && !strcmp(name, "slow.test")) {
		slowly();
		name = "localhost";
	}
	return next(name);
}
