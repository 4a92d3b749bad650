/* Start-up and shut-down. Order matters: the real symbols first (every
 * hook may need them), then the configuration, then the runtime. Nothing
 * here allocates before the real symbols are resolved. */
#include "../evs.h"
#include "config.h"
#include "sched.h"
#include "../libc/sys.h"
#include "fdtab.h"
#include "tls.h"
#include "monitor.h"
#include "fileio.h"
#include "netring.h"
#include "../libc/real.h"
#include "../obs/log.h"
#include "report.h"
#include "../../include/evshim.h"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

/* An event server holds many fds at once: raise the soft limit to the
 * hard one, as a program doing the same would. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			evs_log(EVS_LOG_INFO, "open files limit raised from %llu to %llu (the hard "
				"limit)", (unsigned long long)was, (unsigned long long)rl.rlim_max);
	}
}

/* The start-up line (EVSHIM_LOG=info): what was chosen, and why. */
static void log_start(void)
{
	if (evs_log_level < EVS_LOG_INFO)
		return;
	char stack[48];
	if (evs_config.stack_size)
		snprintf(stack, sizeof(stack), "%zu KiB (EVSHIM_STACK_SIZE)",
			 evs_config.stack_size >> 10);
	else
		snprintf(stack, sizeof(stack), "the process default");
	evs_log_line("evshim %s in %s: %d workers (%s), up to %d with spares; task stacks %s; "
		     "switch %s; TLS %s; file backend %s (%s); blocking pool up to %d threads; "
		     "monitor %s%s%s",
		     EVSHIM_VERSION, program_invocation_short_name, evs_config.workers,
		     getenv("EVSHIM_WORKERS") ? "EVSHIM_WORKERS" : "the CPUs this process may use",
		     evs_config.max_workers, stack,
		     evs_config.switch_ucontext ? "ucontext" : "asm", evs_tls_mode(), evs_fileio_name(),
		     evs_fileio_why(), evs_config.pool_max, evs_config.monitor ? "on" : "off",
		     evs_config.dump_sig ? "; task dump on signal " : "",
		     evs_config.dump_sig ? sigabbrev_np(evs_config.dump_sig) ?: "?" : "");
}

static void atfork_child(void)
{
	evs_sched_atfork_child();
}

__attribute__((constructor(101))) static void evs_init(void)
{
	evs_real_init();
	evs_config_load();
	if (evs_config.disable)
		return;
	raise_nofile();
	evs_fdtab_init();
	evs_report_init();
	evs_tls_init();
	/* The runtime's signal has its handler before the signal mask is
	 * first set (evs_sched_init): an exec from a program under the shim
	 * hands it over blocked and maybe pending (rt/monitor.c). */
	evs_monitor_init();
	evs_sched_init();
	evs_fileio_init();
	evs_net_init();
	/* the raw call: prctl is interposed (hook/proc.c) */
	evs_sys6(SYS_prctl, PR_GET_NAME, evs_main_task.name, 0, 0, 0, 0);
	log_start();
	pthread_atfork(NULL, NULL, atfork_child);
}

__attribute__((destructor)) static void evs_fini(void)
{
	/* a confined process (seccomp) may not open the report's file */
	if (evs_config.stats && !evs_config.disable && !evs_sched_left)
		evs_report_write();
}

EVS_HOOK const char *evshim_version(void)
{
	return EVSHIM_VERSION;
}

EVS_HOOK int evshim_in_task(void)
{
	return evs_current() != NULL;
}
