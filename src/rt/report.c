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
#include "../io/poller.h"
#include <errno.h>
#include "../libc/sys.h"
#include "../../include/evshim.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

uint64_t evs_tasks_peak;
uint64_t evs_kthreads_live, evs_kthreads_peak;

/* The report's fd: a duplicate of stderr taken at start-up (hidden at a
 * high number, like the runtime's other fds), so a program that closes
 * fd 2 before it exits (coreutils do) still gets its report. With an
 * EVSHIM_STATS file, that file, opened before the process first forks
 * (evs_report_prefork): a forked child that gives up root (apache's and
 * nginx's workers) cannot open the file root made, and writes its report
 * through the fd it inherited instead. Not at start-up: a program that
 * lists its fds (CPython's test_pass_fds_redirected, in an exec'd child)
 * must find none of the runtime's before the runtime starts. */
static int report_fd = -1;

static int open_stats(void)
{
	return (int)evs_sys6(SYS_openat, AT_FDCWD, evs_config.stats_path,
			     O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644, 0, 0);
}

void evs_report_init(void)
{
	if (!evs_config.stats || evs_config.stats_path[0])
		return;
	long fd = evs_sys_fcntl(2, F_DUPFD_CLOEXEC, 3);
	if (fd >= 0)
		report_fd = evs_poller_hide_fd((int)fd);
}

void evs_report_prefork(void)
{
	static int opening;
	/* never in a vfork child: its fds are its own, its memory (where the
	 * fd would be recorded) its parent's */
	if (!evs_config.stats || !evs_config.stats_path[0] || evs_vfork_child ||
	    __atomic_load_n(&report_fd, __ATOMIC_ACQUIRE) >= 0 ||
	    __atomic_exchange_n(&opening, 1, __ATOMIC_ACQ_REL))
		return;
	int fd = open_stats();
	if (fd >= 0)
		__atomic_store_n(&report_fd, evs_poller_hide_fd(fd), __ATOMIC_RELEASE);
}

void evs_kthread_count(int delta)
{
	uint64_t n = __atomic_add_fetch(&evs_kthreads_live, (uint64_t)(int64_t)delta,
					__ATOMIC_RELAXED);
	if (delta > 0)
		evs_stat_peak(&evs_kthreads_peak, n);
}

void evs_report_atfork_child(uint64_t live_tasks)
{
	evs_stats_atfork_child();
	evs_tasks_peak = live_tasks;
	evs_kthreads_live = evs_kthreads_peak = 0;  /* only the caller came */
}

const char *evs_proc_status_field(const char *path, const char *key, char *buf, size_t size)
{
	long fd = evs_sys6(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return NULL;
	long n = evs_sys_read((int)fd, buf, size - 1);
	evs_sys_close((int)fd);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	size_t k = strlen(key);
	for (const char *p = buf; (p = strstr(p, key)); p += k)
		if ((p == buf || p[-1] == '\n') && p[k] == ':')
			return p + k + 1;
	return NULL;
}

bool evs_foreign_threads(void)
{
	char buf[4096];
	const char *v = evs_proc_status_field("/proc/self/status", "Threads", buf, sizeof(buf));
	if (!v)
		return true;  /* cannot tell: assume there are */
	long threads = strtol(v, NULL, 10);
	return threads > 1 + (long)__atomic_load_n(&evs_kthreads_live, __ATOMIC_RELAXED);
}

void evs_fallback(const char *call, const char *why)
{
	evs_stat_add(EVS_ST_fallbacks, 1);
	uint64_t n = evs_fallback_by_call(call);
	/* debug: the first few of each call, then every power of two */
	if (evs_log_level >= EVS_LOG_DEBUG && (n <= 4 || !(n & (n - 1))))
		evs_log_line("fallback to the real %s (%s; %llu so far)", call,
			     why ? why : "not served here", (unsigned long long)n);
}

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
		.program = program_invocation_short_name,
		.pid = getpid(),
		.workers = evs_config.workers,
		.slots = evs_nworkers,
		.file_backend = evs_fileio_name(),
		.net = evs_net_name(),
		.tasks_peak = __atomic_load_n(&evs_tasks_peak, __ATOMIC_RELAXED),
		.kthreads_peak = 1 + __atomic_load_n(&evs_kthreads_peak, __ATOMIC_RELAXED),
	};
	for (int i = 0; i < EVS_ST__N; i++)
		r.total[i] = evs_stat_total(i);
	for (int i = 0; i < evs_nworkers; i++)
		for (int k = 0; k < EVS_WAIT__N; k++)
			r.parks_by[k] += __atomic_load_n(&evs_workers[i].parks_by[k], __ATOMIC_RELAXED);
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		r.vol_ctxsw = ru.ru_nvcsw;
		r.invol_ctxsw = ru.ru_nivcsw;
		r.maxrss_kib = ru.ru_maxrss;
	}
	char buf[8192];
	size_t len = evs_report_format(&r, evs_config.stats_json, buf, sizeof(buf));
	int fd = report_fd >= 0 ? report_fd : 2;
	bool opened = false;
	if (evs_config.stats_path[0]) {
		/* opened again (the file may have been moved or removed since),
		 * else the one held since before the first fork */
		long f = open_stats();
		if (f >= 0)
			fd = (int)f, opened = true;
		else if (report_fd < 0) {
			evs_log_line("cannot open the EVSHIM_STATS file %s (%s); the report goes "
				     "to stderr", evs_config.stats_path, strerror((int)-f));
			fd = 2;
		}
	}
	/* One write: reports of processes appending to one file never mix. */
	(void)evs_sys_write(fd, buf, len);
	if (opened)
		evs_sys_close(fd);
}

/* Never in a vfork child: its memory, counters included, is its parent's,
 * whose report comes at its own exit. Never after the runtime left (a
 * process confined by seccomp may not open the report's file). Two
 * threads leaving at once write it once. */
void evs_report_exit(void)
{
	static int written;
	if (!evs_config.stats || evs_config.disable || evs_sched_left || evs_vfork_child)
		return;
	if (__atomic_exchange_n(&written, 1, __ATOMIC_RELAXED))
		return;
	evs_report_write();
}
