/* The figures the runtime reports: counters added up over the workers (and
 * the threads that are not workers), the exit report (EVSHIM_STATS) and
 * the public evshim_stats() snapshot. obs/stats formats; this file knows
 * where the numbers live. */
#include "../evs.h"
#include "report.h"
#include "config.h"
#include "fileio.h"
#include "netring.h"
#include "sched.h"
#include "../obs/log.h"
#include "../libc/sys.h"
#include "../../include/evshim.h"
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

uint64_t evs_tasks_peak;

uint64_t evs_stat_total(enum evs_stat s)
{
	uint64_t n = evs_stat_shared(s);
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
	out->tasks_peak = __atomic_load_n(&evs_tasks_peak, __ATOMIC_RELAXED);
	out->tasks_created = evs_stat_total(EVS_ST_tasks_created);
	out->switches = evs_stat_total(EVS_ST_switches);
	out->parks = evs_stat_total(EVS_ST_parks);
	out->fallbacks = evs_stat_total(EVS_ST_fallbacks);
	return 0;
}

void evs_report_write(void)
{
	struct evs_report r = {
		.pid = getpid(),
		.workers = evs_config.workers,
		.slots = evs_nworkers,
		.file_backend = evs_fileio_name(),
		.net = evs_net_name(),
		.tasks_peak = __atomic_load_n(&evs_tasks_peak, __ATOMIC_RELAXED),
	};
	for (int i = 0; i < EVS_ST__N; i++)
		r.total[i] = evs_stat_total(i);
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		r.vol_ctxsw = ru.ru_nvcsw;
		r.invol_ctxsw = ru.ru_nivcsw;
		r.maxrss_kib = ru.ru_maxrss;
	}
	char buf[4096];
	size_t len = evs_report_format(&r, buf, sizeof(buf));
	int fd = 2;
	if (evs_config.stats_path[0]) {
		fd = (int)evs_sys6(SYS_openat, AT_FDCWD, evs_config.stats_path,
				   O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644, 0, 0);
		if (fd < 0) {
			evs_log_line("evshim: cannot open EVSHIM_STATS file %s",
				     evs_config.stats_path);
			fd = 2;
		}
	}
	(void)evs_sys_write(fd, buf, len);
	if (fd != 2)
		evs_sys_close(fd);
}
