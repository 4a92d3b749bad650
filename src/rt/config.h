/* EVSHIM_* configuration, read once at start-up from a table of variables
 * (config.c). A bad value is rejected with one line on stderr naming the
 * variable, what it accepts and the value used instead, and the default
 * is used: a typo never takes the program down. */
#ifndef EVS_CONFIG_H
#define EVS_CONFIG_H
#include <stddef.h>

struct evs_config {
	int disable;          /* EVSHIM_DISABLE=1: every hook passes through */
	int workers;          /* EVSHIM_WORKERS: 1..EVS_MAX_WORKERS */
	size_t stack_size;    /* EVSHIM_STACK_SIZE: 0 = the process default */
	int stats;            /* EVSHIM_STATS: 1 = report at exit */
	char stats_path[256]; /* EVSHIM_STATS=path: report written there */
	int switch_ucontext;  /* EVSHIM_SWITCH=ucontext */
	int io;               /* EVSHIM_IO: file backend (rt/fileio.h) */
	int net;              /* EVSHIM_NET: sockets through io_uring or epoll (rt/netring.h) */
	int pool_max;         /* EVSHIM_POOL_MAX: blocking pool threads, 1..1024 */
	int monitor;          /* EVSHIM_MONITOR: 0 turns the watchdog off */
	int max_workers;      /* EVSHIM_MAX_WORKERS: the monitor's bound */
	int idle_spins;       /* EVSHIM_SPIN: polls an idle worker makes before it sleeps */
	int stats_json;       /* EVSHIM_STATS_FORMAT=json */
	int dump_sig;         /* EVSHIM_DUMP: the signal that asks for a task dump, 0 none */
	int tls_copy;         /* EVSHIM_TLS=copy: tasks share their worker's TLS address (rt/tls.h) */
	int pipes_kernel;     /* EVSHIM_PIPES=kernel: no hand-off between a pipe's writer and
			       * its parked reader (rt/pipe.h) */
};

#define EVS_MAX_WORKERS 64

extern struct evs_config evs_config;
void evs_config_load(void);
/* The CPUs a cgroup CPU quota of this process allows (quota / period of
 * its cgroups, v1 or v2, the smallest up the hierarchy, rounded up), or 0
 * when none limits it. root: "" (tests: a directory holding proc/self/cgroup
 * and sys/fs/cgroup/...). */
int evs_config_cgroup_cpus(const char *root);
/* Lower evs_config.workers to what a cgroup CPU quota allows, unless
 * EVSHIM_WORKERS was given: called when the runtime starts. */
void evs_config_apply_quota(void);

/* Parse one value as the table says (for tests): 0 and *out set, or -EINVAL. */
int evs_config_parse(const char *name, const char *value, long long *out);
#endif
