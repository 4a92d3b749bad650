#include "../evs.h"
#include "config.h"
#include "../obs/log.h"
#include "fileio.h"
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

struct evs_config evs_config;

static void reject(const char *var, const char *val, const char *accepts)
{
	evs_log_line("evshim: %s=%s rejected: expects %s; using the default",
		     var, val, accepts);
}

/* Whole decimal number in [lo, hi], with an optional k/m/g suffix when
 * `scaled`. Returns 0 and stores on success. */
static int parse_num(const char *s, unsigned long long lo,
		     unsigned long long hi, int scaled, unsigned long long *out)
{
	char *end;
	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (scaled && *end) {
		unsigned long long m = 1;
		switch (*end) {
		case 'k': case 'K': m = 1ULL << 10; break;
		case 'm': case 'M': m = 1ULL << 20; break;
		case 'g': case 'G': m = 1ULL << 30; break;
		default: return -1;
		}
		if (v > hi / m)
			return -1;
		v *= m;
		end++;
	}
	if (*end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* A whole-number variable in [lo, hi] into *dst; a bad value is rejected
 * (the message says the range) and *dst keeps its default. */
static void whole_var(const char *name, unsigned long long lo, unsigned long long hi, int *dst)
{
	const char *v = getenv(name);
	unsigned long long n;
	if (!v)
		return;
	if (parse_num(v, lo, hi, 0, &n) == 0) {
		*dst = (int)n;
		return;
	}
	char accepts[64];
	snprintf(accepts, sizeof(accepts), "a whole number from %llu to %llu", lo, hi);
	reject(name, v, accepts);
}

static int cpus_in_mask(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	return 1;
}

/* Polls an idle worker makes before it blocks (sched.c, spin_for_work):
 * about 5 us each, so 10 is some 50 us of looking for work. */
#define EVS_DEFAULT_SPINS 10
/* Blocking pool threads at most: enough for a disk's queue depth, few
 * enough to stay "a handful" of kernel threads. */
#define EVS_DEFAULT_POOL_MAX 16
#define EVS_MIN_STACK (16UL << 10)  /* below this a libc call can overflow */
#define EVS_MAX_STACK (1UL << 30)

void evs_config_load(void)
{
	const char *v;
	unsigned long long n;

	evs_config.log_level = 1;
	if ((v = getenv("EVSHIM_LOG"))) {
		static const char *names[] = { "off", "error", "warn", "info", "debug" };
		int lvl = -1;
		for (int i = 0; i < 5; i++)
			if (!strcmp(v, names[i]))
				lvl = i;
		if (lvl < 0 && parse_num(v, 0, 4, 0, &n) == 0)
			lvl = (int)n;
		if (lvl < 0)
			reject("EVSHIM_LOG", v, "off|error|warn|info|debug or 0..4");
		else
			evs_config.log_level = evs_log_level = lvl;
	}
	if ((v = getenv("EVSHIM_DISABLE"))) {
		if (!strcmp(v, "1"))
			evs_config.disable = 1;
		else if (strcmp(v, "0") && *v)
			reject("EVSHIM_DISABLE", v, "0 or 1");
	}
	evs_config.workers = cpus_in_mask();
	if (evs_config.workers > EVS_MAX_WORKERS)
		evs_config.workers = EVS_MAX_WORKERS;
	whole_var("EVSHIM_WORKERS", 1, EVS_MAX_WORKERS, &evs_config.workers);
	if ((v = getenv("EVSHIM_STACK_SIZE"))) {
		if (parse_num(v, EVS_MIN_STACK, EVS_MAX_STACK, 1, &n) == 0)
			evs_config.stack_size = n;
		else
			reject("EVSHIM_STACK_SIZE", v,
			       "a size from 16k to 1g (bytes, or with k/m/g)");
	}
	if ((v = getenv("EVSHIM_STATS")) && *v) {
		if (!strcmp(v, "1"))
			evs_config.stats = 1;
		else if (!strcmp(v, "0"))
			evs_config.stats = 0;
		else if (v[0] == '/' || v[0] == '.') {
			if (strlen(v) < sizeof(evs_config.stats_path)) {
				strcpy(evs_config.stats_path, v);
				evs_config.stats = 1;
			} else
				reject("EVSHIM_STATS", v, "0, 1 or a path under 256 bytes");
		} else
			reject("EVSHIM_STATS", v, "0, 1 or a path starting with / or ./");
	}
	if ((v = getenv("EVSHIM_IO")) && *v) {
		if (!strcmp(v, "uring"))
			evs_config.io = EVS_IO_URING;
		else if (!strcmp(v, "aio"))
			evs_config.io = EVS_IO_AIO;
		else if (!strcmp(v, "pool"))
			evs_config.io = EVS_IO_POOL;
		else
			reject("EVSHIM_IO", v, "uring, aio or pool");
	}
	evs_config.pool_max = EVS_DEFAULT_POOL_MAX;
	whole_var("EVSHIM_POOL_MAX", 1, 1024, &evs_config.pool_max);
	evs_config.monitor = 1;
	if ((v = getenv("EVSHIM_MONITOR")) && *v) {
		if (!strcmp(v, "0") || !strcmp(v, "1"))
			evs_config.monitor = v[0] == '1';
		else
			reject("EVSHIM_MONITOR", v, "0 or 1");
	}
	/* Spare workers for stalls: a small multiple of the CPUs. */
	evs_config.max_workers = 4 * cpus_in_mask();
	whole_var("EVSHIM_MAX_WORKERS", 1, EVS_MAX_WORKERS, &evs_config.max_workers);
	if (evs_config.max_workers > EVS_MAX_WORKERS)
		evs_config.max_workers = EVS_MAX_WORKERS;
	if (evs_config.max_workers < evs_config.workers)
		evs_config.max_workers = evs_config.workers;
	evs_config.idle_spins = EVS_DEFAULT_SPINS;
	whole_var("EVSHIM_SPIN", 0, 1000, &evs_config.idle_spins);
	if ((v = getenv("EVSHIM_SWITCH")) && *v) {
		if (!strcmp(v, "ucontext"))
			evs_config.switch_ucontext = 1;
		else if (strcmp(v, "asm"))
			reject("EVSHIM_SWITCH", v, "asm or ucontext");
	}
}
