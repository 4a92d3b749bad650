#include "../evs.h"
#include "config.h"
#include "../obs/log.h"
#include "fileio.h"
#include <errno.h>
#include <sched.h>
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
			evs_config.log_level = lvl;
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
	if ((v = getenv("EVSHIM_WORKERS"))) {
		if (parse_num(v, 1, EVS_MAX_WORKERS, 0, &n) == 0)
			evs_config.workers = (int)n;
		else
			reject("EVSHIM_WORKERS", v, "a whole number from 1 to 64");
	}
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
	if ((v = getenv("EVSHIM_POOL_MAX"))) {
		if (parse_num(v, 1, 1024, 0, &n) == 0)
			evs_config.pool_max = (int)n;
		else
			reject("EVSHIM_POOL_MAX", v, "a whole number from 1 to 1024");
	}
	evs_config.monitor = 1;
	if ((v = getenv("EVSHIM_MONITOR")) && *v) {
		if (!strcmp(v, "0") || !strcmp(v, "1"))
			evs_config.monitor = v[0] == '1';
		else
			reject("EVSHIM_MONITOR", v, "0 or 1");
	}
	/* Spare workers for stalls: a small multiple of the CPUs. */
	evs_config.max_workers = 4 * cpus_in_mask();
	if ((v = getenv("EVSHIM_MAX_WORKERS"))) {
		if (parse_num(v, 1, EVS_MAX_WORKERS, 0, &n) == 0)
			evs_config.max_workers = (int)n;
		else
			reject("EVSHIM_MAX_WORKERS", v, "a whole number from 1 to 64");
	}
	if (evs_config.max_workers > EVS_MAX_WORKERS)
		evs_config.max_workers = EVS_MAX_WORKERS;
	if (evs_config.max_workers < evs_config.workers)
		evs_config.max_workers = evs_config.workers;
	evs_config.idle_spins = EVS_DEFAULT_SPINS;
	if ((v = getenv("EVSHIM_SPIN"))) {
		if (parse_num(v, 0, 1000, 0, &n) == 0)
			evs_config.idle_spins = (int)n;
		else
			reject("EVSHIM_SPIN", v, "a whole number from 0 to 1000");
	}
	if ((v = getenv("EVSHIM_SWITCH")) && *v) {
		if (!strcmp(v, "ucontext"))
			evs_config.switch_ucontext = 1;
		else if (strcmp(v, "asm"))
			reject("EVSHIM_SWITCH", v, "asm or ucontext");
	}
}
