#include "../evs.h"
#include "stats.h"
#include <stdarg.h>
#include <stdio.h>

static uint64_t shared_st[EVS_ST__N];  /* non-worker threads; atomic */

static const char *const st_names[] = {
#define X(name, text) #name,
	EVS_STATS_LIST(X)
#undef X
};

static const char *const wait_names[] = {
#define X(name, text) #name,
	EVS_WAIT_LIST(X)
#undef X
};

const char *evs_wait_name(int kind)
{
	return kind >= 0 && kind < EVS_WAIT__N ? wait_names[kind] : "?";
}

void evs_stat_add_slow(enum evs_stat s, uint64_t n)
{
	__atomic_fetch_add(&shared_st[s], n, __ATOMIC_RELAXED);
}

void evs_stat_peak(uint64_t *peak, uint64_t v)
{
	uint64_t p = __atomic_load_n(peak, __ATOMIC_RELAXED);
	while (v > p && !__atomic_compare_exchange_n(peak, &p, v, 1, __ATOMIC_RELAXED,
						     __ATOMIC_RELAXED))
		;
}

void evs_stat_max_slow(enum evs_stat s, uint64_t v)
{
	evs_stat_peak(&shared_st[s], v);
}

uint64_t evs_stat_shared(enum evs_stat s)
{
	return __atomic_load_n(&shared_st[s], __ATOMIC_RELAXED);
}

static void put(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(buf + *n, len - *n, fmt, ap);
	va_end(ap);
	if (k > 0)
		*n = (size_t)k < len - *n ? *n + (size_t)k : len - 1;
}

/* The exit report: one "name value" line each, easy to grep and to diff. */
size_t evs_report_format(const struct evs_report *r, char *buf, size_t len)
{
	size_t n = 0;
	put(buf, len, &n, "evshim stats: pid %d, %d workers configured, %d worker slots used, "
	    "file backend %s, net %s\n", r->pid, r->workers, r->slots, r->file_backend,
	    r->net ? r->net : "epoll");
	for (int i = 0; i < EVS_ST__N; i++)
		put(buf, len, &n, "  %-16s %llu\n", st_names[i], (unsigned long long)r->total[i]);
	put(buf, len, &n, "  %-16s %llu\n", "tasks_peak", (unsigned long long)r->tasks_peak);
	put(buf, len, &n, "  %-16s %ld\n  %-16s %ld\n  %-16s %ld\n", "vol_ctxsw", r->vol_ctxsw,
	    "invol_ctxsw", r->invol_ctxsw, "maxrss_kib", r->maxrss_kib);
	return n;
}
