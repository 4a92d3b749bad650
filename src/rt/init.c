/* Start-up and shut-down. Order matters: the real symbols first (every
 * hook may need them), then the configuration, then the runtime. Nothing
 * here allocates before the real symbols are resolved. */
#include "../evs.h"
#include "child.h"
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
#include "../io/poller.h"
#include "report.h"
#include "../../include/evshim.h"
#include <elf.h>
#include <errno.h>
#include <link.h>
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
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	evs_poller_fd_base(rl.rlim_cur);  /* the runtime's fds go above it */
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t was = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (REAL(setrlimit)(RLIMIT_NOFILE, &rl) == 0)  /* hooked: hook/proc.c */
			evs_log(EVS_LOG_INFO, "open files limit raised from %llu to %llu (the hard "
				"limit)", (unsigned long long)was, (unsigned long long)rl.rlim_max);
	}
}

/* The start-up line (EVSHIM_LOG=info): what was chosen, and why. */
static void log_start(void)
{
	if (evs_log_level < EVS_LOG_INFO)
		return;
	evs_fileio_choose();  /* the line says which backend, and why */
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

/* Go's runtime makes its threads with pthread_create when the program is
 * built with cgo (then dynamically linked, so LD_PRELOAD reaches it), but
 * blocks and wakes them with its own system calls (futex, epoll_pwait,
 * nanosleep), which the shim never sees, and keeps kernel state per
 * thread (each M's sigaltstack, the thread id its preemption signal is
 * sent to). As tasks, its threads blocked their workers (a new M never
 * ran: a hang) or, with the monitor's spare workers and preemption, ran
 * on each other's signal stacks (Go's fatal "unknown caller pc").
 * Goroutines are user-level threads already: in a Go program the shim
 * steps aside, as with EVSHIM_DISABLE=1. The main executable of a Go
 * program carries Go's build-id note (owner "Go", type 4). */
static int find_go_note(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	bool *is_go = arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		const char *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *n = (const void *)p;
			const char *name = p + sizeof(*n);
			size_t namesz = (n->n_namesz + 3) & ~(size_t)3;
			size_t descsz = (n->n_descsz + 3) & ~(size_t)3;
			if (name + namesz > end)
				break;
			if (n->n_type == 4 && n->n_namesz >= 3 && !memcmp(name, "Go", 3)) {
				*is_go = true;
				return 1;
			}
			p = name + namesz + descsz;
		}
	}
	return 1;  /* the first object is the main executable: stop there */
}

static bool main_is_go(void)
{
	bool is_go = false;
	dl_iterate_phdr(find_go_note, &is_go);
	return is_go;
}

static void prefork(void)
{
	evs_report_prefork();
	evs_child_forking();
	evs_fdtab_prefork();
}

static void atfork_child(void)
{
	evs_sched_atfork_child();
}

__attribute__((constructor(101))) static void evs_init(void)
{
	evs_real_init();
	evs_config_load();
	if (!evs_config.disable && main_is_go()) {
		evs_config.disable = 1;
		evs_log(EVS_LOG_INFO, "a Go program: its runtime schedules its own threads with "
			"system calls the shim does not see; the shim steps aside (as "
			"EVSHIM_DISABLE=1)");
	}
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
	evs_net_init();
	/* the raw call: prctl is interposed (hook/proc.c) */
	evs_sys6(SYS_prctl, PR_GET_NAME, evs_main_task.name, 0, 0, 0, 0);
	log_start();
	pthread_atfork(prefork, NULL, atfork_child);
}

__attribute__((destructor)) static void evs_fini(void)
{
	evs_report_exit();
}

EVS_HOOK const char *evshim_version(void)
{
	return EVSHIM_VERSION;
}

EVS_HOOK int evshim_in_task(void)
{
	return evs_current() != NULL;
}
