/* Start-up and shut-down. Order matters: the real symbols first (every
 * hook may need them), then the configuration, then the runtime. Nothing
 * here allocates before the real symbols are resolved. */
#include "../evs.h"
#include "config.h"
#include "sched.h"
#include "fdtab.h"
#include "tls.h"
#include "monitor.h"
#include "fileio.h"
#include "netring.h"
#include "../libc/real.h"
#include "../obs/log.h"
#include "report.h"
#include "../../include/evshim.h"
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>

/* An event server holds many fds at once: raise the soft limit to the
 * hard one, as a program doing the same would. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
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
	evs_tls_init();
	evs_sched_init();
	evs_monitor_init();
	evs_fileio_init();
	evs_net_init();
	prctl(PR_GET_NAME, evs_main_task.name);
	pthread_atfork(NULL, NULL, atfork_child);
}

__attribute__((destructor)) static void evs_fini(void)
{
	if (evs_config.stats && !evs_config.disable)
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
