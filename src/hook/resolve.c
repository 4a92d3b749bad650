/* Name resolution on the blocking pool: a slow resolver (a DNS server
 * that does not answer, /etc/hosts on a slow disk) parks only the task
 * that asked. The lookup runs on a pool thread; errno and h_errno it left
 * there are carried back to the caller, so EAI_SYSTEM and HOST_NOT_FOUND
 * read as they would natively. gethostbyname and gethostbyaddr return
 * glibc's process-wide static result, as they do natively (the pool
 * thread's copy is that same storage). getaddrinfo, getnameinfo and the
 * non-reentrant hostent calls let the task's signal handlers run, and
 * its cancellation act, meanwhile (below); the reentrant ones do not. */
#include "hook.h"
#include "../rt/offload.h"
#include "../rt/tls.h"
#include <netdb.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct lookup {
	long (*call)(void *);
	void *arg;
	int err, herr;
};

static long job(void *p)
{
	struct lookup *l = p;
	long r = l->call(l->arg);
	l->err = errno;
	l->herr = h_errno;
	return r;
}

/* Arguments that point into a swapped TLS block cannot be used by a pool
 * thread (another task's copy may be resident meanwhile): such a lookup
 * runs on the worker (counted). */
static long lookup(long (*call)(void *), void *arg, const void *const *ptrs, int n)
{
	for (int i = 0; i < n; i++)
		if (ptrs[i] && evs_tls_overlaps(ptrs[i], 1)) {
			EVS_FALLBACK();
			return call(arg);
		}
	struct lookup l = { call, arg, 0, 0 };
	long r = evs_offload(job, &l);
	errno = l.err;
	h_errno = l.herr;
	return r;
}

/* getaddrinfo and getnameinfo: natively a signal that comes during the
 * lookup runs its handler at once, and the lookup goes on (glibc's
 * resolver waits again after EINTR), or ends there if the handler leaves
 * by longjmp (a timeout made with alarm). So the task's handlers run
 * while the pool thread looks up (evs_offload_handled), and the lookup
 * works on copies in a block of its own: what the program passed is
 * read before and written after, on the task, so a lookup a handler left
 * never touches the program's memory (the block is then not freed). */
struct gai {
	struct lookup l;
	const char *node, *service;  /* in the block, or NULL */
	struct addrinfo hints, *res;
	bool has_hints;
};

static long gai_call(void *arg)
{
	struct gai *g = arg;
	return REAL(getaddrinfo)(g->node, g->service, g->has_hints ? &g->hints : NULL, &g->res);
}

/* The lookup through a block of its own, b (its struct lookup the
 * block's first member: the block is freed by the caller after); errno
 * and h_errno carried back. */
static long handled_lookup(struct lookup *b)
{
	long r = evs_offload_handled(job, b);
	errno = b->err;
	h_errno = b->herr;
	return r;
}

EVS_HOOK int getaddrinfo(const char *node, const char *service,
			 const struct addrinfo *hints, struct addrinfo **res)
{
	if (!evs_current())
		return REAL(getaddrinfo)(node, service, hints, res);
	size_t ln = node ? strlen(node) + 1 : 0, ls = service ? strlen(service) + 1 : 0;
	struct gai *g = malloc(sizeof(*g) + ln + ls);
	if (!g) {
		EVS_FALLBACK();
		return REAL(getaddrinfo)(node, service, hints, res);
	}
	char *copies = (char *)(g + 1);
	*g = (struct gai){ .l = { gai_call, g, 0, 0 }, .has_hints = hints != NULL };
	if (hints)
		g->hints = *hints;
	if (node)
		g->node = memcpy(copies, node, ln);
	if (service)
		g->service = memcpy(copies + ln, service, ls);
	int r = (int)handled_lookup(&g->l);
	if (r == 0)
		*res = g->res;
	free(g);
	return r;
}

struct gni {
	struct lookup l;
	struct sockaddr_storage sa;
	socklen_t salen;
	char *host;              /* in the block, or NULL */
	socklen_t hostlen;
	char *serv;
	socklen_t servlen;
	int flags;
};

static long gni_call(void *arg)
{
	struct gni *g = arg;
	return REAL(getnameinfo)((const struct sockaddr *)&g->sa, g->salen, g->host, g->hostlen,
				 g->serv, g->servlen, g->flags);
}

/* Numbers only (what is asked for is numeric): glibc formats the address
 * and the port itself (inet_ntop, a scope id by its interface index, from
 * the kernel), with no resolver and no file, so the call never waits and
 * runs here, not on the pool (stunnel asks three times a connection). */
static bool numeric_only(const char *host, const char *serv, int flags)
{
	return (!host || (flags & NI_NUMERICHOST)) && (!serv || (flags & NI_NUMERICSERV));
}

EVS_HOOK int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
			 socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
	if (!evs_current() || numeric_only(host, serv, flags) || !sa ||
	    salen > (socklen_t)sizeof(struct sockaddr_storage))
		return REAL(getnameinfo)(sa, salen, host, hostlen, serv, servlen, flags);
	size_t lh = host ? hostlen : 0, lv = serv ? servlen : 0;
	struct gni *g = malloc(sizeof(*g) + lh + lv);
	if (!g) {
		EVS_FALLBACK();
		return REAL(getnameinfo)(sa, salen, host, hostlen, serv, servlen, flags);
	}
	char *bufs = (char *)(g + 1);
	*g = (struct gni){ .l = { gni_call, g, 0, 0 }, .salen = salen, .hostlen = hostlen,
			   .servlen = servlen, .flags = flags };
	memcpy(&g->sa, sa, salen);
	g->host = host ? memcpy(bufs, host, lh) : NULL;
	g->serv = serv ? memcpy(bufs + lh, serv, lv) : NULL;
	int r = (int)handled_lookup(&g->l);
	/* what glibc wrote: the buffers whole (the copies started as the
	 * program's, so what glibc left alone is as it was) */
	if (host)
		memcpy(host, g->host, lh);
	if (serv)
		memcpy(serv, g->serv, lv);
	free(g);
	return r;
}

/* The hostent family: one argument block for all six. */
struct ghb {
	const void *key;         /* name, or address */
	socklen_t len;
	int af;
	struct hostent *ret;
	char *buf;
	size_t buflen;
	struct hostent **result;
	int *h_errnop;
	struct hostent *hp;      /* what the non-reentrant forms returned */
};

static long do_gethostbyname(void *arg)
{
	struct ghb *g = arg;
	g->hp = REAL(gethostbyname)(g->key);
	return 0;
}

static long do_gethostbyname2(void *arg)
{
	struct ghb *g = arg;
	g->hp = REAL(gethostbyname2)(g->key, g->af);
	return 0;
}

static long do_gethostbyaddr(void *arg)
{
	struct ghb *g = arg;
	g->hp = REAL(gethostbyaddr)(g->key, g->len, g->af);
	return 0;
}

static long do_gethostbyname_r(void *arg)
{
	struct ghb *g = arg;
	return REAL(gethostbyname_r)(g->key, g->ret, g->buf, g->buflen, g->result, g->h_errnop);
}

static long do_gethostbyname2_r(void *arg)
{
	struct ghb *g = arg;
	return REAL(gethostbyname2_r)(g->key, g->af, g->ret, g->buf, g->buflen, g->result,
				      g->h_errnop);
}

static long do_gethostbyaddr_r(void *arg)
{
	struct ghb *g = arg;
	return REAL(gethostbyaddr_r)(g->key, g->len, g->af, g->ret, g->buf, g->buflen, g->result,
				     g->h_errnop);
}

static long hostent(long (*call)(void *), struct ghb *g)
{
	const void *p[] = { g->key, g->ret, g->buf, g->result, g->h_errnop };
	return lookup(call, g, p, 5);
}

/* The non-reentrant forms answer in glibc's static storage, which the
 * pool thread writes as any thread would: only the key is copied, and the
 * task's handlers run meanwhile (as for getaddrinfo). */
struct ghs {
	struct lookup l;
	struct ghb g;
};

static struct hostent *static_hostent(long (*call)(void *), const void *key, size_t keylen,
				      socklen_t len, int af)
{
	struct ghs *b = malloc(sizeof(*b) + keylen);
	if (!b) {
		EVS_FALLBACK();
		struct ghb g = { .key = key, .len = len, .af = af };
		call(&g);
		return g.hp;
	}
	*b = (struct ghs){ .g = { .key = memcpy(b + 1, key, keylen), .len = len, .af = af } };
	b->l = (struct lookup){ call, &b->g, 0, 0 };
	handled_lookup(&b->l);
	struct hostent *hp = b->g.hp;
	free(b);
	return hp;
}

EVS_HOOK struct hostent *gethostbyname(const char *name)
{
	if (!evs_current() || !name)
		return REAL(gethostbyname)(name);
	return static_hostent(do_gethostbyname, name, strlen(name) + 1, 0, 0);
}

EVS_HOOK struct hostent *gethostbyname2(const char *name, int af)
{
	if (!evs_current() || !name)
		return REAL(gethostbyname2)(name, af);
	return static_hostent(do_gethostbyname2, name, strlen(name) + 1, 0, af);
}

EVS_HOOK struct hostent *gethostbyaddr(const void *addr, socklen_t len, int af)
{
	if (!evs_current() || !addr)
		return REAL(gethostbyaddr)(addr, len, af);
	return static_hostent(do_gethostbyaddr, addr, len, len, af);
}

EVS_HOOK int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
			     struct hostent **result, int *h_errnop)
{
	if (!evs_current())
		return REAL(gethostbyname_r)(name, ret, buf, buflen, result, h_errnop);
	struct ghb g = { .key = name, .ret = ret, .buf = buf, .buflen = buflen,
			 .result = result, .h_errnop = h_errnop };
	return (int)hostent(do_gethostbyname_r, &g);
}

EVS_HOOK int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
			      size_t buflen, struct hostent **result, int *h_errnop)
{
	if (!evs_current())
		return REAL(gethostbyname2_r)(name, af, ret, buf, buflen, result, h_errnop);
	struct ghb g = { .key = name, .af = af, .ret = ret, .buf = buf, .buflen = buflen,
			 .result = result, .h_errnop = h_errnop };
	return (int)hostent(do_gethostbyname2_r, &g);
}

EVS_HOOK int gethostbyaddr_r(const void *addr, socklen_t len, int af, struct hostent *ret,
			     char *buf, size_t buflen, struct hostent **result, int *h_errnop)
{
	if (!evs_current())
		return REAL(gethostbyaddr_r)(addr, len, af, ret, buf, buflen, result, h_errnop);
	struct ghb g = { .key = addr, .len = len, .af = af, .ret = ret, .buf = buf,
			 .buflen = buflen, .result = result, .h_errnop = h_errnop };
	return (int)hostent(do_gethostbyaddr_r, &g);
}
