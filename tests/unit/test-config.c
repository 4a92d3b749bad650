/* EVSHIM_* parsing (rt/config.h). evs_config_parse: every variable's
 * accepted forms and bounds (the lowest and highest accepted value, one
 * past each refused), k/m/g sizes, log level names and numbers, stats
 * paths, signal names and numbers for EVSHIM_DUMP. evs_config_load, each case in a fork()ed child so that every
 * load starts from a fresh process as the shim's does: the defaults with
 * nothing set, every variable taking effect, and a refused value leaving
 * the default in evs_config with one line on stderr naming it. */
#include "check.h"
#include "rt/config.h"
#include "rt/fileio.h"
#include "obs/log.h"
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const names[] = {
	"EVSHIM_WORKERS", "EVSHIM_STACK_SIZE", "EVSHIM_STATS", "EVSHIM_LOG",
	"EVSHIM_SWITCH", "EVSHIM_IO", "EVSHIM_POOL_MAX", "EVSHIM_MONITOR",
	"EVSHIM_MAX_WORKERS", "EVSHIM_SPIN", "EVSHIM_DISABLE", "EVSHIM_STATS_FORMAT",
	"EVSHIM_DUMP", "EVSHIM_TLS",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

/* --- evs_config_parse ------------------------------------------------- */

#define REFUSED (-12345)  /* `want` for a value that must be refused */
static const struct { const char *name, *value; long long want; } cases[] = {
	{ "EVSHIM_WORKERS", "1", 1 },            { "EVSHIM_WORKERS", "64", 64 },
	{ "EVSHIM_WORKERS", "0", REFUSED },      { "EVSHIM_WORKERS", "65", REFUSED },
	{ "EVSHIM_WORKERS", "2", 2 },            { "EVSHIM_WORKERS", "lots", REFUSED },
	{ "EVSHIM_WORKERS", "-1", REFUSED },     { "EVSHIM_WORKERS", "+2", REFUSED },
	{ "EVSHIM_WORKERS", "2k", REFUSED },     { "EVSHIM_WORKERS", "3 ", REFUSED },
	{ "EVSHIM_WORKERS", "1.5", REFUSED },    { "EVSHIM_WORKERS", "", REFUSED },
	{ "EVSHIM_WORKERS", "18446744073709551617", REFUSED },

	{ "EVSHIM_STACK_SIZE", "16384", 16384 }, { "EVSHIM_STACK_SIZE", "16383", REFUSED },
	{ "EVSHIM_STACK_SIZE", "16k", 16384 },   { "EVSHIM_STACK_SIZE", "16K", 16384 },
	{ "EVSHIM_STACK_SIZE", "15k", REFUSED }, { "EVSHIM_STACK_SIZE", "1k", REFUSED },
	{ "EVSHIM_STACK_SIZE", "64k", 65536 },   { "EVSHIM_STACK_SIZE", "8m", 8 << 20 },
	{ "EVSHIM_STACK_SIZE", "8M", 8 << 20 },  { "EVSHIM_STACK_SIZE", "1g", 1LL << 30 },
	{ "EVSHIM_STACK_SIZE", "1G", 1LL << 30 }, { "EVSHIM_STACK_SIZE", "1024m", 1LL << 30 },
	{ "EVSHIM_STACK_SIZE", "1073741824", 1LL << 30 },
	{ "EVSHIM_STACK_SIZE", "1073741825", REFUSED }, { "EVSHIM_STACK_SIZE", "1025m", REFUSED },
	{ "EVSHIM_STACK_SIZE", "2g", REFUSED },  { "EVSHIM_STACK_SIZE", "0", REFUSED },
	{ "EVSHIM_STACK_SIZE", "12x", REFUSED }, { "EVSHIM_STACK_SIZE", "16kb", REFUSED },
	{ "EVSHIM_STACK_SIZE", "k", REFUSED },   { "EVSHIM_STACK_SIZE", "-64k", REFUSED },
	{ "EVSHIM_STACK_SIZE", "17179869184g", REFUSED },  /* 2^34 g: overflows */

	{ "EVSHIM_STATS", "0", 0 },              { "EVSHIM_STATS", "1", 1 },
	{ "EVSHIM_STATS", "/tmp/stats.txt", 2 }, { "EVSHIM_STATS", "./stats.txt", 2 },
	{ "EVSHIM_STATS", "2", REFUSED },        { "EVSHIM_STATS", "maybe", REFUSED },
	{ "EVSHIM_STATS", "stats.txt", REFUSED },

	{ "EVSHIM_LOG", "off", 0 },   { "EVSHIM_LOG", "error", 1 }, { "EVSHIM_LOG", "warn", 2 },
	{ "EVSHIM_LOG", "info", 3 },  { "EVSHIM_LOG", "debug", 4 }, { "EVSHIM_LOG", "0", 0 },
	{ "EVSHIM_LOG", "4", 4 },     { "EVSHIM_LOG", "2", 2 },     { "EVSHIM_LOG", "5", REFUSED },
	{ "EVSHIM_LOG", "-1", REFUSED }, { "EVSHIM_LOG", "loud", REFUSED },
	{ "EVSHIM_LOG", "", REFUSED },

	{ "EVSHIM_SWITCH", "asm", 0 }, { "EVSHIM_SWITCH", "ucontext", 1 },
	{ "EVSHIM_SWITCH", "fast", REFUSED }, { "EVSHIM_SWITCH", "1", REFUSED },

	{ "EVSHIM_IO", "uring", EVS_IO_URING }, { "EVSHIM_IO", "aio", EVS_IO_AIO },
	{ "EVSHIM_IO", "pool", EVS_IO_POOL },   { "EVSHIM_IO", "kaio", REFUSED },
	{ "EVSHIM_IO", "0", REFUSED },          { "EVSHIM_IO", "", REFUSED },

	{ "EVSHIM_POOL_MAX", "1", 1 },         { "EVSHIM_POOL_MAX", "1024", 1024 },
	{ "EVSHIM_POOL_MAX", "0", REFUSED },   { "EVSHIM_POOL_MAX", "1025", REFUSED },

	{ "EVSHIM_MONITOR", "0", 0 },          { "EVSHIM_MONITOR", "1", 1 },
	{ "EVSHIM_MONITOR", "2", REFUSED },    { "EVSHIM_MONITOR", "off", REFUSED },

	{ "EVSHIM_MAX_WORKERS", "1", 1 },      { "EVSHIM_MAX_WORKERS", "64", 64 },
	{ "EVSHIM_MAX_WORKERS", "0", REFUSED }, { "EVSHIM_MAX_WORKERS", "65", REFUSED },

	{ "EVSHIM_SPIN", "0", 0 },             { "EVSHIM_SPIN", "1000", 1000 },
	{ "EVSHIM_SPIN", "-1", REFUSED },      { "EVSHIM_SPIN", "1001", REFUSED },

	{ "EVSHIM_DISABLE", "0", 0 },          { "EVSHIM_DISABLE", "1", 1 },
	{ "EVSHIM_DISABLE", "yes", REFUSED },  { "EVSHIM_DISABLE", "2", REFUSED },

	{ "EVSHIM_STATS_FORMAT", "text", 0 },  { "EVSHIM_STATS_FORMAT", "json", 1 },
	{ "EVSHIM_STATS_FORMAT", "xml", REFUSED }, { "EVSHIM_STATS_FORMAT", "1", REFUSED },

	{ "EVSHIM_TLS", "address", 0 },        { "EVSHIM_TLS", "copy", 1 },
	{ "EVSHIM_TLS", "fast", REFUSED },     { "EVSHIM_TLS", "1", REFUSED },

	{ "EVSHIM_NO_SUCH_VARIABLE", "1", REFUSED },
};

/* EVSHIM_DUMP: a signal by name (with or without SIG, any case) or
 * number, 1..SIGRTMAX, but not one the program cannot leave alone or the
 * runtime's own (RTMAX-1). SIGRTMIN and SIGRTMAX are glibc's at run time. */
static void signal_cases(void)
{
	const struct { const char *value; long long want; } sig[] = {
		{ "SIGUSR2", SIGUSR2 }, { "USR2", SIGUSR2 },   { "usr1", SIGUSR1 },
		{ "SIGHUP", SIGHUP },   { "12", SIGUSR2 },     { "1", 1 },
		{ "0", REFUSED },       { "SIGKILL", REFUSED }, { "9", REFUSED },
		{ "STOP", REFUSED },    { "SEGV", REFUSED },   { "SIGBUS", REFUSED },
		{ "ILL", REFUSED },     { "FPE", REFUSED },    { "TRAP", REFUSED },
		{ "SYS", REFUSED },     { "USR9", REFUSED },   { "SIG", REFUSED },
		{ "", REFUSED },        { "-10", REFUSED },    { "RTMIN", SIGRTMIN },
		{ "RTMAX", SIGRTMAX },  { "RTMAX-2", SIGRTMAX - 2 },
		{ "RTMAX-1", REFUSED },  /* the runtime's own signal */
	};
	char rtmax[16], past[16], own[16];
	snprintf(rtmax, sizeof(rtmax), "%d", SIGRTMAX);
	snprintf(past, sizeof(past), "%d", SIGRTMAX + 1);
	snprintf(own, sizeof(own), "%d", SIGRTMAX - 1);
	long long out;
	for (size_t i = 0; i < sizeof(sig) / sizeof(sig[0]); i++) {
		out = REFUSED;
		int r = evs_config_parse("EVSHIM_DUMP", sig[i].value, &out);
		if (sig[i].want == REFUSED)
			CHECK(r < 0, "EVSHIM_DUMP=\"%s\" accepted as %lld; expected refused", sig[i].value, out);
		else
			CHECK(r == 0 && out == sig[i].want, "EVSHIM_DUMP=\"%s\": %s %lld; expected %lld",
			      sig[i].value, r ? "refused" : "parsed as", out, sig[i].want);
	}
	/* the numbers' upper bound, and the runtime's own as a number */
	CHECK(evs_config_parse("EVSHIM_DUMP", rtmax, &out) == 0 && out == SIGRTMAX,
	      "EVSHIM_DUMP=%s (SIGRTMAX) refused", rtmax);
	CHECK(evs_config_parse("EVSHIM_DUMP", past, &out) < 0, "EVSHIM_DUMP=%s accepted", past);
	CHECK(evs_config_parse("EVSHIM_DUMP", own, &out) < 0, "EVSHIM_DUMP=%s (RTMAX-1) accepted", own);
}

static void parse_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long out = REFUSED;
		int r = evs_config_parse(cases[i].name, cases[i].value, &out);
		if (cases[i].want == REFUSED)
			CHECK(r < 0, "%s=\"%s\" accepted as %lld; expected refused", cases[i].name,
			      cases[i].value, out);
		else
			CHECK(r == 0 && out == cases[i].want, "%s=\"%s\": %s %lld; expected %lld",
			      cases[i].name, cases[i].value, r ? "refused" : "parsed as", out,
			      cases[i].want);
	}
	/* a stats path must fit the 256-byte buffer with its terminator */
	char path[300] = "/";
	memset(path + 1, 'p', 254);  /* 255 characters */
	long long out;
	CHECK(evs_config_parse("EVSHIM_STATS", path, &out) == 0 && out == 2,
	      "a 255-character stats path refused");
	path[255] = 'p';  /* 256 characters */
	CHECK(evs_config_parse("EVSHIM_STATS", path, &out) < 0, "a 256-character stats path accepted");
}

/* --- evs_config_load ------------------------------------------------------ */

struct loaded {
	struct evs_config c;
	int log_level;
	int pid;         /* the child's */
	char err[1024];  /* what it said on stderr */
};

/* Load with exactly the EVSHIM_* variables of kv ("NAME=value", NULL
 * ended) set, in a child process. */
static int load(const char *const *kv, struct loaded *out)
{
	int res[2], err[2];
	memset(out, 0, sizeof(*out));
	if (pipe(res) || pipe(err))
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		for (size_t i = 0; i < NNAMES; i++)
			unsetenv(names[i]);
		for (; kv && *kv; kv++)
			putenv((char *)*kv);
		dup2(err[1], 2);
		evs_config_load();
		struct loaded l = { .c = evs_config, .log_level = evs_log_level };
		_exit(write(res[1], &l, sizeof(l)) == (ssize_t)sizeof(l) ? 0 : 1);
	}
	close(res[1]);
	close(err[1]);
	ssize_t n = read(res[0], out, sizeof(*out)), m = 0, k;
	while ((k = read(err[0], out->err + m, sizeof(out->err) - 1 - (size_t)m)) > 0)
		m += k;
	out->err[m] = 0;
	close(res[0]);
	close(err[0]);
	int st;
	waitpid(pid, &st, 0);
	out->pid = pid;
	return n == (ssize_t)sizeof(*out) && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static int same(const struct loaded *a, const struct loaded *b)
{
	return a->log_level == b->log_level && !memcmp(&a->c, &b->c, sizeof(a->c));
}

static void load_cases(void)
{
	cpu_set_t set;
	int cpus = sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
	int workers = cpus < 64 ? cpus : 64, max = 4 * cpus < 64 ? 4 * cpus : 64;

	/* nothing set: the documented defaults, nothing said */
	struct loaded d, l;
	CHECK(load(NULL, &d) == 0, "the child loading the defaults failed");
	CHECK(d.c.workers == workers && d.c.max_workers == max && d.c.pool_max == 16 &&
		      d.c.monitor == 1 && d.c.idle_spins == 10 && d.log_level == EVS_LOG_WARN &&
		      d.c.stack_size == 0 && d.c.stats == 0 && !d.c.stats_path[0] &&
		      d.c.switch_ucontext == 0 && d.c.io == EVS_IO_AUTO && d.c.disable == 0 &&
		      d.c.stats_json == 0 && d.c.dump_sig == 0 && d.c.tls_copy == 0,
	      "defaults: workers %d (%d CPUs), max_workers %d, pool_max %d, monitor %d, spin %d, "
	      "log %d, stack %zu, stats %d '%s', ucontext %d, io %d, disable %d, json %d, dump %d, "
	      "tls copy %d",
	      d.c.workers, cpus, d.c.max_workers, d.c.pool_max, d.c.monitor, d.c.idle_spins,
	      d.log_level, d.c.stack_size, d.c.stats, d.c.stats_path, d.c.switch_ucontext, d.c.io,
	      d.c.disable, d.c.stats_json, d.c.dump_sig, d.c.tls_copy);
	CHECK(!d.err[0], "defaults: stderr says \"%s\"", d.err);

	/* every variable set: each lands in its field */
	static const char *const all[] = {
		"EVSHIM_WORKERS=3", "EVSHIM_STACK_SIZE=256k", "EVSHIM_STATS=./st.txt",
		"EVSHIM_LOG=debug", "EVSHIM_SWITCH=ucontext", "EVSHIM_IO=aio",
		"EVSHIM_POOL_MAX=5", "EVSHIM_MONITOR=0", "EVSHIM_MAX_WORKERS=7",
		"EVSHIM_SPIN=0", "EVSHIM_DISABLE=1", "EVSHIM_STATS_FORMAT=json",
		"EVSHIM_DUMP=SIGUSR1", "EVSHIM_TLS=copy", NULL,
	};
	CHECK(load(all, &l) == 0, "the child loading every variable failed");
	CHECK(l.c.workers == 3 && l.c.stack_size == 256 << 10 && l.c.stats == 1 &&
		      !strcmp(l.c.stats_path, "./st.txt") && l.log_level == EVS_LOG_DEBUG &&
		      l.c.switch_ucontext == 1 && l.c.io == EVS_IO_AIO && l.c.pool_max == 5 &&
		      l.c.monitor == 0 && l.c.max_workers == 7 && l.c.idle_spins == 0 &&
		      l.c.disable == 1 && l.c.stats_json == 1 && l.c.dump_sig == SIGUSR1 &&
		      l.c.tls_copy == 1,
	      "every variable: workers %d, stack %zu, stats %d '%s', log %d, ucontext %d, io %d, "
	      "pool_max %d, monitor %d, max_workers %d, spin %d, disable %d, json %d, dump %d, "
	      "tls copy %d",
	      l.c.workers, l.c.stack_size, l.c.stats, l.c.stats_path, l.log_level,
	      l.c.switch_ucontext, l.c.io, l.c.pool_max, l.c.monitor, l.c.max_workers,
	      l.c.idle_spins, l.c.disable, l.c.stats_json, l.c.dump_sig, l.c.tls_copy);
	CHECK(!l.err[0], "every variable: stderr says \"%s\"", l.err);

	/* the other accepted forms of the non-numeric ones */
	static const char *const more[] = { "EVSHIM_LOG=3", "EVSHIM_STATS=/tmp/x.txt",
					    "EVSHIM_IO=pool", "EVSHIM_STACK_SIZE=2m", NULL };
	CHECK(load(more, &l) == 0 && l.log_level == EVS_LOG_INFO && l.c.stats == 1 &&
		      !strcmp(l.c.stats_path, "/tmp/x.txt") && l.c.io == EVS_IO_POOL &&
		      l.c.stack_size == 2 << 20 && !l.err[0],
	      "log 3 -> %d, stats /tmp/x.txt -> %d '%s', io pool -> %d, stack 2m -> %zu, stderr \"%s\"",
	      l.log_level, l.c.stats, l.c.stats_path, l.c.io, l.c.stack_size, l.err);
	static const char *const s1[] = { "EVSHIM_STATS=1", NULL };
	CHECK(load(s1, &l) == 0 && l.c.stats == 1 && !l.c.stats_path[0],
	      "EVSHIM_STATS=1: stats %d, path '%s'", l.c.stats, l.c.stats_path);

	/* the spare workers' bound is never below the workers */
	static const char *const below[] = { "EVSHIM_WORKERS=8", "EVSHIM_MAX_WORKERS=2", NULL };
	CHECK(load(below, &l) == 0 && l.c.workers == 8 && l.c.max_workers == 8 && !l.err[0],
	      "workers 8, max 2: max_workers %d", l.c.max_workers);

	/* an empty value is no value: the default, nothing said */
	static const char *const empty[] = { "EVSHIM_WORKERS=", "EVSHIM_LOG=", "EVSHIM_IO=", NULL };
	CHECK(load(empty, &l) == 0 && same(&l, &d) && !l.err[0], "empty values: not the defaults, "
	      "or stderr says \"%s\"", l.err);

	/* each refused value: the default stays, one line names it */
	static const char *const refused[] = {
		"EVSHIM_WORKERS=0", "EVSHIM_WORKERS=65", "EVSHIM_WORKERS=lots",
		"EVSHIM_STACK_SIZE=16383", "EVSHIM_STACK_SIZE=1025m", "EVSHIM_STACK_SIZE=12x",
		"EVSHIM_STATS=maybe", "EVSHIM_STATS=2", "EVSHIM_LOG=5", "EVSHIM_LOG=loud",
		"EVSHIM_SWITCH=fast", "EVSHIM_IO=kaio", "EVSHIM_POOL_MAX=0",
		"EVSHIM_POOL_MAX=1025", "EVSHIM_MONITOR=2", "EVSHIM_MAX_WORKERS=0",
		"EVSHIM_MAX_WORKERS=65", "EVSHIM_SPIN=-1", "EVSHIM_SPIN=1001",
		"EVSHIM_DISABLE=yes", "EVSHIM_STATS_FORMAT=xml", "EVSHIM_DUMP=SIGKILL",
		"EVSHIM_DUMP=RTMAX-1", "EVSHIM_TLS=fast",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const char *kv[] = { refused[i], NULL };
		char want[160];
		CHECK(load(kv, &l) == 0, "the child loading %s failed", refused[i]);
		snprintf(want, sizeof(want), "evshim[%d]: %s rejected: expects ", l.pid, refused[i]);
		CHECK(same(&l, &d), "%s changed the configuration", refused[i]);
		CHECK(lines(l.err) == 1 && !strncmp(l.err, want, strlen(want)),
		      "%s: stderr says \"%s\"", refused[i], l.err);
	}
	/* a refused value among good ones leaves those alone */
	static const char *const mixed[] = { "EVSHIM_WORKERS=5", "EVSHIM_SPIN=lots",
					     "EVSHIM_POOL_MAX=9", NULL };
	CHECK(load(mixed, &l) == 0 && l.c.workers == 5 && l.c.idle_spins == 10 &&
		      l.c.pool_max == 9 && lines(l.err) == 1,
	      "mixed: workers %d, spin %d, pool_max %d, %d line(s) said", l.c.workers,
	      l.c.idle_spins, l.c.pool_max, lines(l.err));
}

/* What the documentation promises and the parser does not do yet (run
 * with EVSHIM_UNIT_PENDING=1, docs/testing.md): a number is digits only
 * ("3 " is refused, " 3" must be too), a stats path starts with / or ./
 * (README, and the rejection message itself), and EVSHIM_DUMP=RTMIN+k
 * names SIGRTMIN + k. */
static void pending_cases(void)
{
	static const struct { const char *name, *value; } strict[] = {
		{ "EVSHIM_WORKERS", " 3" },      { "EVSHIM_WORKERS", "\t3" },
		{ "EVSHIM_STACK_SIZE", " 64k" }, { "EVSHIM_LOG", " 2" },
		{ "EVSHIM_STATS", ".stats" },    { "EVSHIM_STATS", "." },
	};
	for (size_t i = 0; i < sizeof(strict) / sizeof(strict[0]); i++) {
		long long out = REFUSED;
		CHECK(evs_config_parse(strict[i].name, strict[i].value, &out) < 0,
		      "%s=\"%s\" accepted as %lld; expected refused", strict[i].name,
		      strict[i].value, out);
	}
	/* SIGRTMIN+k is SIGRTMIN + k (the parser takes every RTMIN+k for
	 * RTMAX-k: RTMIN+1 is then refused as the runtime's own) */
	for (int k = 1; k <= 3; k++) {
		char v[32];
		long long out = REFUSED;
		snprintf(v, sizeof(v), "SIGRTMIN+%d", k);
		int r = evs_config_parse("EVSHIM_DUMP", v, &out);
		CHECK(r == 0 && out == SIGRTMIN + k, "EVSHIM_DUMP=%s: %s %lld; expected %d", v,
		      r ? "refused" : "parsed as", out, SIGRTMIN + k);
	}
}

/* --- evs_config_cgroup_cpus ------------------------------------------- */

/* Write text to root/rel, making the directories on the way. */
static void put_file(const char *root, const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *s = path + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* A fake root per case: proc/self/cgroup and the cgroup files under
 * sys/fs/cgroup, and the CPUs the quota allows (0: no quota). */
static void cgroup_cases(void)
{
	static const struct {
		const char *self;
		const char *files[3][2];
		int want;
	} cases[] = {
		/* v2: the smallest limit up the tree, rounded up */
		{ "0::/a/b\n", { { "sys/fs/cgroup/a/b/cpu.max", "150000 100000\n" },
				 { "sys/fs/cgroup/a/cpu.max", "max 100000\n" } }, 2 },
		{ "0::/a/b\n", { { "sys/fs/cgroup/a/b/cpu.max", "150000 100000\n" },
				 { "sys/fs/cgroup/a/cpu.max", "50000 100000\n" } }, 1 },
		{ "0::/a\n", { { "sys/fs/cgroup/a/cpu.max", "max 100000\n" } }, 0 },
		/* a cgroup namespace: the path is not there, the mount's top is */
		{ "0::/not/here\n", { { "sys/fs/cgroup/cpu.max", "300000 100000\n" } }, 3 },
		/* v1, cpu and cpuacct mounted together or apart */
		{ "5:memory:/m\n4:cpu,cpuacct:/x\n", { { "sys/fs/cgroup/cpu,cpuacct/x/cpu.cfs_quota_us", "250000\n" },
				{ "sys/fs/cgroup/cpu,cpuacct/x/cpu.cfs_period_us", "100000\n" } }, 3 },
		{ "2:cpuacct:/y\n1:cpu:/y\n", { { "sys/fs/cgroup/cpu/y/cpu.cfs_quota_us", "-1\n" },
				{ "sys/fs/cgroup/cpu/y/cpu.cfs_period_us", "100000\n" } }, 0 },
		{ "1:cpu:/y/z\n", { { "sys/fs/cgroup/cpu/y/cpu.cfs_quota_us", "100000\n" },
				    { "sys/fs/cgroup/cpu/y/cpu.cfs_period_us", "100000\n" } }, 1 },
		/* a v1 line for other controllers only, nothing readable */
		{ "3:cpuset:/c\n", { { NULL, NULL } }, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char root[] = "/tmp/evs-cgroup-XXXXXX";
		if (!mkdtemp(root)) {
			CHECK(0, "mkdtemp");
			return;
		}
		put_file(root, "proc/self/cgroup", cases[i].self);
		for (int k = 0; k < 3 && cases[i].files[k][0]; k++)
			put_file(root, cases[i].files[k][0], cases[i].files[k][1]);
		int got = evs_config_cgroup_cpus(root);
		CHECK(got == cases[i].want, "cgroup case %zu: %d CPUs, expected %d", i, got, cases[i].want);
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
		if (system(cmd) != 0)
			CHECK(0, "rm %s", root);
	}
	CHECK(evs_config_cgroup_cpus("/nonexistent-evs-root") == 0, "no /proc/self/cgroup: no quota");
}

int main(void)
{
	bool pending = getenv("EVSHIM_UNIT_PENDING") != NULL;
	cgroup_cases();
	parse_cases();
	signal_cases();
	load_cases();
	if (pending)
		pending_cases();
	printf("config: %d checks of evs_config_parse (bounds, sizes, names, paths) and "
	       "evs_config_load (defaults, every variable, refusals keep the default)%s: "
	       "%d failure(s)\n", checked,
	       pending ? "" : " (not checked: numbers with leading blanks and stats paths "
			      "starting with a bare '.' are refused, RTMIN+k is SIGRTMIN+k, "
			      "known bugs; EVSHIM_UNIT_PENDING=1 checks them)",
	       failures);
	return failures ? 1 : 0;
}
