/* The EVSHIM_* variables: one table says each one's name, what it
 * accepts and where its value goes; one loop reads them all. */
#include "../evs.h"
#include "config.h"
#include "fileio.h"
#include "../obs/log.h"
#include "../libc/sys.h"
#include <errno.h>
#include <fcntl.h>
#include <ctype.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct evs_config evs_config;
static bool workers_given;  /* EVSHIM_WORKERS set (and accepted) */

/* Polls an idle worker makes before it sleeps (sched.c, spin_for_work):
 * about 5 us each, so 10 is some 50 us of looking for work. */
#define EVS_DEFAULT_SPINS 10
/* Blocking pool threads at most: enough for a disk's queue depth, few
 * enough to stay "a handful" of kernel threads. */
#define EVS_DEFAULT_POOL_MAX 16
#define EVS_MIN_STACK (16UL << 10)  /* below this a libc call can overflow */
#define EVS_MAX_STACK (1UL << 30)
/* Spare workers for stalls: a small multiple of the CPUs. */
#define EVS_SPARES_PER_CPU 4

enum kind {
	WHOLE,    /* a decimal number in [lo, hi] */
	SIZE,     /* the same with an optional k/m/g suffix */
	CHOICE,   /* one of `words` (or its index, for EVSHIM_LOG) */
	STATS,    /* 0, 1 or a path */
	SIGNAL,   /* a signal name (SIGUSR2, USR2, RTMIN+3) or number */
};

struct var {
	const char *name;
	enum kind kind;
	int *ival;                   /* WHOLE, CHOICE, STATS: where the value goes */
	long long lo, hi;            /* WHOLE, SIZE */
	const char *const *words;    /* CHOICE: NULL-terminated; value = index */
	const char *accepts;         /* what the message says it accepts (else lo..hi) */
	bool numbers_too;            /* CHOICE: the index is accepted as well */
	const char *default_text;    /* the default in words (else the value) */
};

static const char *const log_words[] = { "off", "error", "warn", "info", "debug", NULL };
static const char *const bool_words[] = { "0", "1", NULL };
static const char *const switch_words[] = { "asm", "ucontext", NULL };
static const char *const tls_words[] = { "address", "copy", NULL };
static const char *const io_words[] = { "", "uring", "aio", "pool", NULL };  /* EVS_IO_* */
static const char *const format_words[] = { "text", "json", NULL };
static const char *const net_words[] = { "", "uring", "epoll", NULL };  /* EVS_NET_* */
static const char *const pipes_words[] = { "direct", "kernel", NULL };
static const struct var vars[] = {
	{ .name = "EVSHIM_LOG", .kind = CHOICE, .ival = &evs_log_level, .words = log_words,
	  .accepts = "off|error|warn|info|debug or 0..4", .numbers_too = true },
	{ .name = "EVSHIM_DISABLE", .kind = CHOICE, .ival = &evs_config.disable,
	  .words = bool_words, .accepts = "0 or 1" },
	{ .name = "EVSHIM_WORKERS", .kind = WHOLE, .ival = &evs_config.workers,
	  .lo = 1, .hi = EVS_MAX_WORKERS },
	{ .name = "EVSHIM_STACK_SIZE", .kind = SIZE, .lo = EVS_MIN_STACK, .hi = EVS_MAX_STACK,
	  .accepts = "a size from 16k to 1g (bytes, or with k/m/g)",
	  .default_text = "the process default" },
	{ .name = "EVSHIM_STATS", .kind = STATS, .ival = &evs_config.stats,
	  .accepts = "0, 1 or a path starting with / or ./ (under 256 bytes)",
	  .default_text = "0 (no report)" },
	{ .name = "EVSHIM_IO", .kind = CHOICE, .ival = &evs_config.io, .words = io_words,
	  .accepts = "uring, aio or pool",
	  .default_text = "uring where it works, else aio, else pool" },
	{ .name = "EVSHIM_NET", .kind = CHOICE, .ival = &evs_config.net, .words = net_words,
	  .accepts = "uring or epoll",
	  .default_text = "epoll" },
	{ .name = "EVSHIM_POOL_MAX", .kind = WHOLE, .ival = &evs_config.pool_max,
	  .lo = 1, .hi = 1024 },
	{ .name = "EVSHIM_MONITOR", .kind = CHOICE, .ival = &evs_config.monitor,
	  .words = bool_words, .accepts = "0 or 1" },
	{ .name = "EVSHIM_MAX_WORKERS", .kind = WHOLE, .ival = &evs_config.max_workers,
	  .lo = 1, .hi = EVS_MAX_WORKERS },
	{ .name = "EVSHIM_SPIN", .kind = WHOLE, .ival = &evs_config.idle_spins,
	  .lo = 0, .hi = 1000 },
	{ .name = "EVSHIM_SWITCH", .kind = CHOICE, .ival = &evs_config.switch_ucontext,
	  .words = switch_words, .accepts = "asm or ucontext" },
	{ .name = "EVSHIM_STATS_FORMAT", .kind = CHOICE, .ival = &evs_config.stats_json,
	  .words = format_words, .accepts = "text or json" },
	{ .name = "EVSHIM_DUMP", .kind = SIGNAL, .ival = &evs_config.dump_sig,
	  .accepts = "a signal name or number the program leaves alone (such as SIGUSR2), "
		     "not KILL, STOP, SEGV, BUS, ILL, FPE, TRAP, SYS or RTMAX-1",
	  .default_text = "unset (no dump)" },
	{ .name = "EVSHIM_TLS", .kind = CHOICE, .ival = &evs_config.tls_copy,
	  .words = tls_words, .accepts = "address or copy" },
	{ .name = "EVSHIM_PIPES", .kind = CHOICE, .ival = &evs_config.pipes_kernel,
	  .words = pipes_words, .accepts = "direct or kernel" },
};
#define NVARS (sizeof(vars) / sizeof(vars[0]))

/* Whole decimal number in [lo, hi], with an optional k/m/g suffix when
 * `scaled`. Returns 0 and stores on success. */
static int parse_num(const char *s, long long lo, long long hi, int scaled, long long *out)
{
	char *end;
	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (scaled && *end) {
		unsigned long long m = 1;
		switch (*end) {
		case 'k': case 'K': m = 1ULL << 10; break;
		case 'm': case 'M': m = 1ULL << 20; break;
		case 'g': case 'G': m = 1ULL << 30; break;
		default: return -EINVAL;
		}
		if (v > (unsigned long long)hi / m)
			return -EINVAL;
		v *= m;
		end++;
	}
	if (*end || v < (unsigned long long)lo || v > (unsigned long long)hi)
		return -EINVAL;
	*out = (long long)v;
	return 0;
}

/* A signal the runtime may take for itself: not one that cannot be
 * caught, not a fault (the crash report's), not the monitor's. */
static int parse_signal(const char *s, long long *out)
{
	long long n = -1;
	if (*s >= '0' && *s <= '9') {
		if (parse_num(s, 1, SIGRTMAX, 0, &n) < 0)
			return -EINVAL;
	} else {
		if (!strncasecmp(s, "SIG", 3))
			s += 3;
		if (!strncasecmp(s, "RTMIN+", 6) || !strncasecmp(s, "RTMAX-", 6)) {
			long long k;
			if (parse_num(s + 6, 0, SIGRTMAX - SIGRTMIN, 0, &k) < 0)
				return -EINVAL;
			n = toupper((unsigned char)s[4]) == 'I' ? SIGRTMIN + k : SIGRTMAX - k;
		} else if (!strcasecmp(s, "RTMIN")) {
			n = SIGRTMIN;
		} else if (!strcasecmp(s, "RTMAX")) {
			n = SIGRTMAX;
		} else {
			for (int i = 1; i < SIGRTMIN; i++) {
				const char *a = sigabbrev_np(i);
				if (a && !strcasecmp(s, a))
					n = i;
			}
		}
	}
	if (n < 1 || n > SIGRTMAX || n == SIGKILL || n == SIGSTOP || n == SIGSEGV ||
	    n == SIGBUS || n == SIGILL || n == SIGFPE || n == SIGTRAP || n == SIGSYS ||
	    n == SIGRTMAX - 1)
		return -EINVAL;
	*out = n;
	return 0;
}

static int parse(const struct var *v, const char *s, long long *out)
{
	switch (v->kind) {
	case WHOLE:
	case SIZE:
		return parse_num(s, v->lo, v->hi, v->kind == SIZE, out);
	case CHOICE:
		for (int i = 0; v->words[i]; i++)
			if (v->words[i][0] && !strcmp(s, v->words[i])) {
				*out = i;
				return 0;
			}
		if (v->numbers_too) {
			int n = 0;
			while (v->words[n])
				n++;
			return parse_num(s, 0, n - 1, 0, out);
		}
		return -EINVAL;
	case SIGNAL:
		return parse_signal(s, out);
	case STATS:
		if (!strcmp(s, "0") || !strcmp(s, "1")) {
			*out = s[0] - '0';
			return 0;
		}
		if ((s[0] == '/' || s[0] == '.') && strlen(s) < sizeof(evs_config.stats_path)) {
			*out = 2;
			return 0;
		}
		return -EINVAL;
	}
	return -EINVAL;
}

int evs_config_parse(const char *name, const char *value, long long *out)
{
	for (size_t i = 0; i < NVARS; i++)
		if (!strcmp(vars[i].name, name))
			return parse(&vars[i], value, out);
	return -EINVAL;
}

/* The value in force, in words, for the rejection message. */
static void describe_default(const struct var *v, char *buf, size_t len)
{
	if (v->default_text)
		snprintf(buf, len, "%s", v->default_text);
	else if (v->kind == CHOICE)
		snprintf(buf, len, "%s", v->words[*v->ival]);
	else
		snprintf(buf, len, "%d", *v->ival);
}

/* A child process inherits the environment, so it would repeat every
 * rejection its parent already printed. It stays quiet when its parent
 * runs under the shim with the same value (read from /proc, only when
 * something was rejected). */
static bool parent_said_it(const char *name, const char *value)
{
	char path[64], env[65536];
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)getppid());
	long fd = evs_sys6(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return false;
	long n = evs_sys_read((int)fd, env, sizeof(env) - 1);
	evs_sys_close((int)fd);
	if (n <= 0)
		return false;
	env[n] = 0;
	bool same_value = false, shim = false;
	size_t nl = strlen(name);
	for (char *e = env; e < env + n; e += strlen(e) + 1) {
		if (!strncmp(e, name, nl) && e[nl] == '=' && !strcmp(e + nl + 1, value))
			same_value = true;
		if (!strncmp(e, "LD_PRELOAD=", 11) && strstr(e, "libevshim"))
			shim = true;
	}
	return same_value && shim;
}

static void reject(const struct var *v, const char *value)
{
	char accepts[96], used[96];
	if (v->accepts)
		snprintf(accepts, sizeof(accepts), "%s", v->accepts);
	else
		snprintf(accepts, sizeof(accepts), "a whole number from %lld to %lld", v->lo, v->hi);
	describe_default(v, used, sizeof(used));
	if (!parent_said_it(v->name, value))
		evs_log_line("%s=%s rejected: expects %s; using the default, %s",
			     v->name, value, accepts, used);
}

static int cpus_in_mask(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);  /* the kernel fills only its own mask's bytes */
	if (evs_sys3(SYS_sched_getaffinity, 0, sizeof(set), (long)&set) > 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	return 1;
}

/* A small file's text into buf (NUL-terminated), with raw calls (the
 * hooks are not ready while the configuration loads): its length, or -1. */
static long read_small(const char *path, char *buf, size_t n)
{
	long fd = evs_sys6(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return -1;
	long got = evs_sys3(SYS_read, fd, (long)buf, (long)n - 1);
	evs_sys3(SYS_close, fd, 0, 0);
	if (got < 0)
		return -1;
	buf[got] = '\0';
	return got;
}

/* One cgroup's CPU limit in millionths of a CPU (quota * 1e6 / period),
 * -1 for none, -2 when its file is not there: v2's cpu.max ("max PERIOD"
 * or "QUOTA PERIOD"), v1's cpu.cfs_quota_us (-1: none) and
 * cpu.cfs_period_us. */
static long long limit_at(const char *dir, bool v2)
{
	char path[544], buf[64];
	long long quota, period;
	if (strlen(dir) > 512)
		return -1;
	if (v2) {
		snprintf(path, sizeof(path), "%s/cpu.max", dir);
		if (read_small(path, buf, sizeof(buf)) <= 0)
			return -2;
		if (!strncmp(buf, "max", 3) || sscanf(buf, "%lld %lld", &quota, &period) != 2)
			return -1;
	} else {
		snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", dir);
		if (read_small(path, buf, sizeof(buf)) <= 0)
			return -2;
		if (sscanf(buf, "%lld", &quota) != 1 || quota <= 0)
			return -1;
		snprintf(path, sizeof(path), "%s/cpu.cfs_period_us", dir);
		if (read_small(path, buf, sizeof(buf)) <= 0 || sscanf(buf, "%lld", &period) != 1)
			return -1;
	}
	if (quota <= 0 || period <= 0)
		return -1;
	return quota * 1000000 / period;
}

/* The smallest limit of the cgroup at `rel` under the hierarchy mounted
 * at `mnt` and of each of its ancestors up to `mnt` (a limit applies to
 * everything below it), -1 for none, -2 when no level had the file (no
 * such mount). A path that is not there as such (a cgroup
 * namespace shows its root as "/" in /proc/self/cgroup, or the mount is
 * a container's own) is read from the mount's top instead. */
static long long limit_up(const char *mnt, const char *rel, bool v2)
{
	char dir[512];
	int n = snprintf(dir, sizeof(dir), "%s%s", mnt, rel);
	if (n <= 0 || (size_t)n >= sizeof(dir))
		return -1;
	size_t top = strlen(mnt);
	while (n > (int)top && dir[n - 1] == '/')
		dir[--n] = '\0';
	long long best = -2;
	for (;;) {
		long long l = limit_at(dir, v2);
		if (l > 0 && (best < 0 || l < best))
			best = l;
		else if (l == -1 && best == -2)
			best = -1;
		char *slash = strrchr(dir, '/');
		if ((size_t)(slash - dir) < top || slash == dir)
			break;
		*slash = '\0';
		if (strlen(dir) < top)
			break;
	}
	return best;
}

int evs_config_cgroup_cpus(const char *root)
{
	char self[4096], mnt[512];
	snprintf(mnt, sizeof(mnt), "%s/proc/self/cgroup", root);
	if (read_small(mnt, self, sizeof(self)) <= 0)
		return 0;
	long long best = -1;
	for (char *line = self, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* "ID:controllers:path"; v2 is "0::path" */
		char *c = strchr(line, ':');
		char *p = c ? strchr(c + 1, ':') : NULL;
		if (!p)
			continue;
		*p++ = '\0';
		const char *ctl = c + 1;
		long long l = -1;
		if (!*ctl) {
			snprintf(mnt, sizeof(mnt), "%s/sys/fs/cgroup", root);
			l = limit_up(mnt, p, true);
		} else {
			bool cpu = false;
			char *save = NULL;
			for (char *w = strtok_r((char *)ctl, ",", &save); w; w = strtok_r(NULL, ",", &save))
				cpu |= !strcmp(w, "cpu");
			if (!cpu)
				continue;
			static const char *const mounts[] = { "cpu", "cpu,cpuacct", "cpuacct,cpu" };
			l = -2;
			for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]) && l == -2; i++) {
				snprintf(mnt, sizeof(mnt), "%s/sys/fs/cgroup/%s", root, mounts[i]);
				l = limit_up(mnt, p, false);
			}
		}
		if (l > 0 && (best < 0 || l < best))
			best = l;
	}
	if (best <= 0)
		return 0;
	return (int)((best + 999999) / 1000000);
}

/* A cgroup's CPU quota (a container's --cpus) below the workers the
 * affinity mask gave: that many workers, rounded up, as Go (1.25), the
 * JVM and .NET size their pools; more would only be throttled in turn.
 * Read when the runtime starts (a process that never does, a shell or
 * `ls`, reads nothing), and only when it could lower the count. */
void evs_config_apply_quota(void)
{
	if (workers_given || evs_config.workers <= 1)
		return;
	int q = evs_config_cgroup_cpus("");
	if (q > 0 && q < evs_config.workers)
		evs_config.workers = q;
}

void evs_config_load(void)
{
	int cpus = cpus_in_mask();
	evs_log_level = EVS_LOG_WARN;
	evs_config.workers = cpus < EVS_MAX_WORKERS ? cpus : EVS_MAX_WORKERS;
	evs_config.pool_max = EVS_DEFAULT_POOL_MAX;
	evs_config.monitor = 1;
	evs_config.max_workers = EVS_SPARES_PER_CPU * cpus;
	if (evs_config.max_workers > EVS_MAX_WORKERS)
		evs_config.max_workers = EVS_MAX_WORKERS;
	evs_config.idle_spins = EVS_DEFAULT_SPINS;

	for (size_t i = 0; i < NVARS; i++) {
		const struct var *v = &vars[i];
		const char *s = getenv(v->name);
		long long n;
		if (!s || !*s)
			continue;
		if (parse(v, s, &n) < 0) {
			reject(v, s);
			continue;
		}
		if (v->kind == SIZE) {
			evs_config.stack_size = (size_t)n;
		} else if (v->kind == STATS && n == 2) {
			strcpy(evs_config.stats_path, s);
			*v->ival = 1;
		} else {
			*v->ival = (int)n;
		}
		if (v->ival == &evs_config.workers)
			workers_given = true;
	}
	if (evs_config.max_workers < evs_config.workers)
		evs_config.max_workers = evs_config.workers;
}
