#include "../evs.h"
#include "stats.h"
#include "log.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

/* --- fallbacks by call ------------------------------------------------ */

static struct {
	const char *call;  /* NULL: free; set once by CAS */
	uint64_t n;
} by_call[EVS_FALLBACK_CALLS];
static uint64_t other_calls;

uint64_t evs_fallback_by_call(const char *call)
{
	for (int i = 0; i < EVS_FALLBACK_CALLS; i++) {
		const char *c = __atomic_load_n(&by_call[i].call, __ATOMIC_ACQUIRE);
		if (!c) {
			const char *none = NULL;
			if (__atomic_compare_exchange_n(&by_call[i].call, &none, call, 0,
							__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
				c = call;
			else
				c = none;  /* another thread took the slot: look at it */
		}
		if (c == call || !strcmp(c, call))
			return __atomic_add_fetch(&by_call[i].n, 1, __ATOMIC_RELAXED);
	}
	return __atomic_add_fetch(&other_calls, 1, __ATOMIC_RELAXED);
}

void evs_stats_atfork_child(void)
{
	memset(shared_st, 0, sizeof(shared_st));
	memset(by_call, 0, sizeof(by_call));
	other_calls = 0;
}

/* --- the report --------------------------------------------------------- */

/* A JSON string: the program name may hold anything. */
static void put_json_str(char *buf, size_t len, size_t *n, const char *s)
{
	evs_text_put(buf, len, n, "\"");
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			evs_text_put(buf, len, n, "\\%c", c);
		else if (c < 0x20)
			evs_text_put(buf, len, n, "\\u%04x", c);
		else
			evs_text_put(buf, len, n, "%c", c);
	}
	evs_text_put(buf, len, n, "\"");
}

static size_t format_json(const struct evs_report *r, char *buf, size_t len)
{
	size_t n = 0;
	evs_text_put(buf, len, &n, "{\"program\":");
	put_json_str(buf, len, &n, r->program);
	evs_text_put(buf, len, &n, ",\"pid\":%d,\"workers\":%d,\"worker_slots\":%d,\"file_backend\":",
	    r->pid, r->workers, r->slots);
	put_json_str(buf, len, &n, r->file_backend);
	evs_text_put(buf, len, &n, ",\"net\":");
	put_json_str(buf, len, &n, r->net ? r->net : "epoll");
	evs_text_put(buf, len, &n, ",\"counters\":{");
	for (int i = 0; i < EVS_ST__N; i++)
		evs_text_put(buf, len, &n, "%s\"%s\":%llu", i ? "," : "", st_names[i],
		    (unsigned long long)r->total[i]);
	evs_text_put(buf, len, &n, "},\"fallbacks\":{");
	const char *sep = "";
	for (int i = 0; i < EVS_FALLBACK_CALLS; i++) {
		const char *c = __atomic_load_n(&by_call[i].call, __ATOMIC_ACQUIRE);
		uint64_t k = __atomic_load_n(&by_call[i].n, __ATOMIC_RELAXED);
		if (c && k) {
			evs_text_put(buf, len, &n, "%s", sep);
			put_json_str(buf, len, &n, c);
			evs_text_put(buf, len, &n, ":%llu", (unsigned long long)k);
			sep = ",";
		}
	}
	if (other_calls)
		evs_text_put(buf, len, &n, "%s\"other\":%llu", sep, (unsigned long long)other_calls);
	evs_text_put(buf, len, &n, "},\"parks\":{");
	sep = "";
	for (int i = 0; i < EVS_WAIT__N; i++)
		if (r->parks_by[i]) {
			evs_text_put(buf, len, &n, "%s\"%s\":%llu", sep, wait_names[i],
			    (unsigned long long)r->parks_by[i]);
			sep = ",";
		}
	evs_text_put(buf, len, &n, "},\"tasks_peak\":%llu,\"kernel_threads_peak\":%llu,"
	    "\"vol_ctxsw\":%ld,\"invol_ctxsw\":%ld,\"maxrss_kib\":%ld}\n",
	    (unsigned long long)r->tasks_peak, (unsigned long long)r->kthreads_peak,
	    r->vol_ctxsw, r->invol_ctxsw, r->maxrss_kib);
	return n;
}

/* The exit report: one "name value" line each, easy to grep and to diff;
 * the fallbacks and parks broken down under their totals. */
size_t evs_report_format(const struct evs_report *r, bool json, char *buf, size_t len)
{
	if (json)
		return format_json(r, buf, len);
	size_t n = 0;
	evs_text_put(buf, len, &n, "evshim stats: %s (pid %d), %d workers configured, %d worker slots used, "
	    "file backend %s, net %s\n", r->program ? r->program : "?", r->pid, r->workers, r->slots,
	    r->file_backend, r->net ? r->net : "epoll");
	for (int i = 0; i < EVS_ST__N; i++) {
		evs_text_put(buf, len, &n, "  %-16s %llu\n", st_names[i], (unsigned long long)r->total[i]);
		if (i == EVS_ST_fallbacks) {
			for (int k = 0; k < EVS_FALLBACK_CALLS; k++) {
				const char *c = __atomic_load_n(&by_call[k].call, __ATOMIC_ACQUIRE);
				uint64_t v = __atomic_load_n(&by_call[k].n, __ATOMIC_RELAXED);
				if (c && v)
					evs_text_put(buf, len, &n, "    fallback %-16s %llu\n", c,
					    (unsigned long long)v);
			}
			if (other_calls)
				evs_text_put(buf, len, &n, "    fallback %-16s %llu\n", "other",
				    (unsigned long long)other_calls);
		}
		if (i == EVS_ST_parks)
			for (int k = 0; k < EVS_WAIT__N; k++)
				if (r->parks_by[k])
					evs_text_put(buf, len, &n, "    park %-16s %llu\n", wait_names[k],
					    (unsigned long long)r->parks_by[k]);
	}
	evs_text_put(buf, len, &n, "  %-16s %llu\n", "tasks_peak", (unsigned long long)r->tasks_peak);
	evs_text_put(buf, len, &n, "  %-16s %llu\n", "kthreads_peak", (unsigned long long)r->kthreads_peak);
	evs_text_put(buf, len, &n, "  %-16s %ld\n  %-16s %ld\n  %-16s %ld\n", "vol_ctxsw", r->vol_ctxsw,
	    "invol_ctxsw", r->invol_ctxsw, "maxrss_kib", r->maxrss_kib);
	return n;
}
