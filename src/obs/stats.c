#include "../evs.h"
#include "stats.h"
#include "log.h"
#include "../rt/sched.h"
#include "../rt/config.h"
#include "../rt/fileio.h"
#include "../../include/evshim.h"
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint64_t shared_st[EVS_ST__N];  /* non-worker threads; atomic */
static uint64_t peak_tasks;            /* atomic max */

static const char *const st_names[] = {
#define X(name, text) #name,
	EVS_STATS_LIST(X)
#undef X
};

void evs_stat_add_slow(enum evs_stat s, uint64_t n)
{
	__atomic_fetch_add(&shared_st[s], n, __ATOMIC_RELAXED);
}

void evs_stat_max_slow(enum evs_stat s, uint64_t v)
{
	uint64_t p = __atomic_load_n(&shared_st[s], __ATOMIC_RELAXED);
	while (v > p && !__atomic_compare_exchange_n(&shared_st[s], &p, v, 1,
						     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void evs_stat_peak_tasks(uint64_t live)
{
	uint64_t p = __atomic_load_n(&peak_tasks, __ATOMIC_RELAXED);
	while (live > p &&
	       !__atomic_compare_exchange_n(&peak_tasks, &p, live, 1,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

uint64_t evs_stat_total(enum evs_stat s)
{
	uint64_t n = __atomic_load_n(&shared_st[s], __ATOMIC_RELAXED);
	for (int i = 0; i < evs_nworkers; i++)
		n += __atomic_load_n(&evs_workers[i].st[s], __ATOMIC_RELAXED);
	return n;
}

EVS_HOOK int evshim_stats(struct evshim_stats *out)
{
	if (!out)
		return -1;
	memset(out, 0, sizeof(*out));
	out->workers = evs_nworkers;
	out->tasks_live = __atomic_load_n(&evs_live_tasks, __ATOMIC_RELAXED);
	out->tasks_peak = __atomic_load_n(&peak_tasks, __ATOMIC_RELAXED);
	out->tasks_created = evs_stat_total(EVS_ST_tasks_created);
	out->switches = evs_stat_total(EVS_ST_switches);
	out->parks = evs_stat_total(EVS_ST_parks);
	out->fallbacks = evs_stat_total(EVS_ST_fallbacks);
	return 0;
}

/* The exit report: one "name value" line each, easy to grep and to diff. */
void evs_stats_report(void)
{
	char buf[4096];
	size_t len = 0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	len += snprintf(buf + len, sizeof(buf) - len,
			"evshim stats: pid %d, %d workers configured, %d worker slots used, "
			"file backend %s\n",
			(int)getpid(), evs_config.workers, evs_nworkers, evs_fileio_name());
	for (int i = 0; i < EVS_ST__N; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "  %-16s %llu\n",
				st_names[i],
				(unsigned long long)evs_stat_total(i));
	len += snprintf(buf + len, sizeof(buf) - len,
			"  %-16s %llu\n  %-16s %ld\n  %-16s %ld\n  %-16s %ld\n",
			"tasks_peak",
			(unsigned long long)__atomic_load_n(&peak_tasks, __ATOMIC_RELAXED),
			"vol_ctxsw", ru.ru_nvcsw, "invol_ctxsw", ru.ru_nivcsw,
			"maxrss_kib", ru.ru_maxrss);
	if (len > sizeof(buf))
		len = sizeof(buf);
	int fd = 2;
	if (evs_config.stats_path[0]) {
		fd = (int)syscall(SYS_openat, AT_FDCWD, evs_config.stats_path,
				  O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0) {
			evs_log_line("evshim: cannot open EVSHIM_STATS file %s",
				     evs_config.stats_path);
			fd = 2;
		}
	}
	(void)!syscall(SYS_write, fd, buf, len);
	if (fd != 2)
		syscall(SYS_close, fd);
}
