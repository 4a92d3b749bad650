/* The monitor.
 *
 * A watchdog thread (a plain kernel thread, not a worker) looks at every
 * worker each EVS_MONITOR_TICK_NS. A worker that is running a task and has
 * not switched for EVS_STALL_NS is stalled: in a call the shim cannot see,
 * or a CPU-bound loop. The monitor then
 *   - marks it stalled, so new tasks are placed elsewhere;
 *   - sends it EVS_SIG_PREEMPT, at most every EVS_STALL_NS;
 *   - when every worker is stalled, adds a spare worker (up to
 *     EVSHIM_MAX_WORKERS), so placement and migration have somewhere to go.
 *
 * The signal handler runs on the stalled worker, on the interrupted task's
 * stack, and decides from the interrupted stack itself (libunwind, against
 * a module map built at start-up, so the lookups are async-signal-safe):
 *   - every frame is the program's own code (any module but libc, the
 *     loader, libgcc and the shim), or the top frame is a bare system-call
 *     wrapper of libc called from such code (syscall(), read(), ...): no
 *     runtime or libc lock can be held, so the handler runs the scheduler's
 *     chores (wake-ups, timers, sockets) and, if another task is ready,
 *     yields the interrupted one. When that task is resumed, the handler
 *     returns and the kernel restarts its system call (SA_RESTART) or its
 *     loop goes on;
 *   - libc, the loader or unknown code on the stack (a stdio or malloc
 *     lock may be held): the task must keep the worker, but tasks that
 *     have never run move to a worker that is not stalled;
 *   - the shim on the stack: nothing (its structures may be mid-update).
 * Tasks that have run never move (their TLS addresses are the worker's),
 * so this preemption is what keeps them live on a stalled worker.
 *
 * Sooner than that, a worker that has not switched for EVS_PENDING_NS while
 * it has work waiting (a timer due, a wake-up in its inbox) gets the
 * signal too, so a sleeper next to a CPU-bound task wakes about 1-2 ms
 * late, not 10. The stall threshold is 10 ms
 * (Go's sysmon uses the same for forced preemption); make bench measures
 * both the latency and the monitor's own cost. */
#include "../evs.h"
#include "monitor.h"
#include "config.h"
#include "sched.h"
#include "worker.h"
#include "task.h"
#include "../libc/real.h"
#include "../obs/log.h"
#include "../libc/sys.h"
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#define EVS_MONITOR_TICK_NS (1 * 1000000LL)
#define EVS_PENDING_NS (1 * 1000000LL)
#define EVS_STALL_NS (10 * 1000000LL)
#define EVS_UNWIND_DEPTH 64

/* --- the module map ---------------------------------------------------- */

enum { MOD_PROGRAM, MOD_LIBC, MOD_SHIM, MOD_UNKNOWN };

#define EVS_MAX_MODS 128
static struct mod {
	uintptr_t lo, hi;     /* an executable segment */
	int kind;
	int exe;              /* the main executable */
} mods[EVS_MAX_MODS];
static int nmods;

/* Bare system-call wrappers a task may be interrupted in (top frame). */
static const char *const wrappers[] = {
	"syscall", "read", "write", "pread64", "pwrite64", "readv", "writev",
	"recvfrom", "sendto", "recvmsg", "sendmsg", "accept", "accept4",
	"connect", "nanosleep", "clock_nanosleep", "poll", "ppoll", "select",
	"pselect", "epoll_wait", "epoll_pwait", "pause", "sigsuspend",
	"wait4", "waitpid", "msgrcv", "msgsnd", "semop", "flock",
};
#define NWRAP (sizeof(wrappers) / sizeof(wrappers[0]))
static uintptr_t wrapper_at[NWRAP];

static int kind_of_name(const char *name)
{
	const char *b = strrchr(name, '/');
	b = b ? b + 1 : name;
	if (!strncmp(b, "libc.so", 7) || !strncmp(b, "ld-linux", 8) ||
	    !strncmp(b, "libgcc_s", 8) || !strncmp(b, "libdl.so", 8) ||
	    !strncmp(b, "libpthread.so", 13) || !strncmp(b, "linux-vdso", 10) ||
	    !strncmp(b, "libunwind", 9))
		return MOD_LIBC;
	return MOD_PROGRAM;
}

static int collect(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	Dl_info self;
	int kind = kind_of_name(info->dlpi_name);
	if (dladdr((void *)evs_monitor_init, &self) && self.dli_fbase &&
	    (uintptr_t)self.dli_fbase == info->dlpi_addr)
		kind = MOD_SHIM;
	for (int i = 0; i < info->dlpi_phnum && nmods < EVS_MAX_MODS; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		mods[nmods].lo = info->dlpi_addr + ph->p_vaddr;
		mods[nmods].hi = mods[nmods].lo + ph->p_memsz;
		mods[nmods].kind = kind;
		mods[nmods].exe = info->dlpi_name[0] == '\0';
		nmods++;
	}
	return 0;
}

static const struct mod *module_of(uintptr_t ip)
{
	for (int i = 0; i < nmods; i++)
		if (ip >= mods[i].lo && ip < mods[i].hi)
			return &mods[i];
	return NULL;  /* loaded later (dlopen) or generated: unknown */
}

/* --- where was the task interrupted? ----------------------------------- */

enum { AT_SHIM, AT_LIBC, AT_PROGRAM };

static int is_wrapper(unw_cursor_t *c)
{
	unw_proc_info_t pi;
	if (unw_get_proc_info(c, &pi) != 0)
		return 0;
	for (size_t i = 0; i < NWRAP; i++)
		if (wrapper_at[i] && pi.start_ip == wrapper_at[i])
			return 1;
	return 0;
}

/* libunwind's one-time set-up opens a pipe (for address validation, which
 * local cursors like ours never use) at the lowest free fd numbers. Done
 * at start-up it would shift every fd the program opens by two; so the
 * monitor thread does it just before it sends its first signal, and the
 * handler declines until then. */
static int unw_ready;

static void unwind_setup(void)
{
	if (__atomic_load_n(&unw_ready, __ATOMIC_ACQUIRE))
		return;
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_NONE);
	__atomic_store_n(&unw_ready, 1, __ATOMIC_RELEASE);
}

static int classify(ucontext_t *uc, int main_task)
{
	unw_cursor_t c;
	if (!__atomic_load_n(&unw_ready, __ATOMIC_ACQUIRE))
		return AT_SHIM;
	if (unw_init_local2(&c, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) != 0)
		return AT_SHIM;  /* cannot tell: treat as unsafe */
	int program_seen = 0, libc_seen = 0;
	for (int i = 0; i < EVS_UNWIND_DEPTH; i++) {
		unw_word_t ip;
		unw_get_reg(&c, UNW_REG_IP, &ip);
		const struct mod *m = module_of((uintptr_t)ip);
		int kind = m ? m->kind : MOD_UNKNOWN;
		if (kind == MOD_SHIM) {
			/* Shim frames are allowed only as a task's first frames
			 * (task_entry, then the trampoline that ends the walk),
			 * below the program's. */
			if (!program_seen)
				return AT_SHIM;
			for (int k = 0; k < 2; k++) {
				if (unw_step(&c) <= 0)
					return libc_seen ? AT_LIBC : AT_PROGRAM;
				unw_get_reg(&c, UNW_REG_IP, &ip);
				m = module_of((uintptr_t)ip);
				if (!m || m->kind != MOD_SHIM)
					return AT_SHIM;
			}
			return unw_step(&c) <= 0 ? (libc_seen ? AT_LIBC : AT_PROGRAM) : AT_SHIM;
		}
		if (kind == MOD_LIBC) {
			if (i == 0 && is_wrapper(&c)) {
				/* a bare system call made by the program */
			} else if (main_task && program_seen) {
				/* below main: libc's start code and _start */
				return libc_seen ? AT_LIBC : AT_PROGRAM;
			} else {
				libc_seen = 1;
			}
		} else if (kind == MOD_UNKNOWN) {
			libc_seen = 1;
		} else {
			program_seen = 1;
		}
		if (unw_step(&c) <= 0)
			break;
	}
	return libc_seen || !program_seen ? AT_LIBC : AT_PROGRAM;
}

static void on_preempt(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	int saved = errno;
	struct evs_worker *w = evs_self;
	struct evs_task *t = w ? w->cur : NULL;
	if (!t || !__atomic_load_n(&evs_pollers_live, __ATOMIC_ACQUIRE))
		goto out;
	int at = classify(ucv, t == &evs_main_task);
	if (at == AT_SHIM) {
		w->st[EVS_ST_preempt_refused]++;
		goto out;
	}
	w->st[EVS_ST_migrated] += (uint64_t)evs_sched_migrate_unstarted(w);
	if (at != AT_PROGRAM) {
		w->st[EVS_ST_preempt_refused]++;
		goto out;
	}
	if (evs_sched_housekeeping(w)) {
		w->st[EVS_ST_preempts]++;
		evs_task_yield();  /* back here when it is this task's turn */
	}
out:
	errno = saved;
}

/* --- the watchdog ------------------------------------------------------ */

static pthread_t monitor;
static int running;

static void stall_ended(struct evs_worker *w, int64_t now)
{
	__atomic_store_n(&w->stalled, 0, __ATOMIC_RELAXED);
	uint64_t ms = (uint64_t)((now - w->stall_start) / 1000000);
	evs_stat_add_slow(EVS_ST_stall_ms_total, ms);
	evs_stat_max_slow(EVS_ST_stall_ms_max, ms);
}

static void *monitor_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = { 0, EVS_MONITOR_TICK_NS };
		evs_sys3(SYS_nanosleep, &ts, 0, 0);
		int64_t now = evs_now_ns();
		int n = __atomic_load_n(&evs_nworkers, __ATOMIC_ACQUIRE), stalled = 0, live = 0;
		for (int i = 0; i < n; i++) {
			struct evs_worker *w = &evs_workers[i];
			if (__atomic_load_n(&w->retired, __ATOMIC_ACQUIRE))
				continue;
			live++;
			uint64_t sw = __atomic_load_n(&w->st[EVS_ST_switches], __ATOMIC_RELAXED);
			struct evs_task *cur = __atomic_load_n(&w->cur, __ATOMIC_RELAXED);
			if (!cur || sw != w->mon_seen) {
				if (w->stalled)
					stall_ended(w, now);
				w->mon_seen = sw;
				w->mon_since = now;
				continue;
			}
			int64_t quiet = now - w->mon_since;
			if (quiet < EVS_STALL_NS) {
				/* not stalled yet, but work waits behind the task:
				 * a ready task, a wake-up, a due timer (racy reads
				 * of the owner's words: hints, checked again by the
				 * handler on the owner) */
				int pending = evs_runq_has_local(&w->rq) ||
					!evs_runq_inbox_empty(&w->rq) ||
					__atomic_load_n(&w->timers.next_due, __ATOMIC_RELAXED) <= now;
				if (pending && quiet >= EVS_PENDING_NS &&
				    now - w->mon_signalled >= EVS_PENDING_NS) {
					unwind_setup();
					w->mon_signalled = now;
					evs_stat_add_slow(EVS_ST_preempt_signals, 1);
					REAL(pthread_kill)(w->thread, EVS_SIG_PREEMPT);
				}
				continue;
			}
			stalled++;
			if (!w->stalled) {
				__atomic_store_n(&w->stalled, 1, __ATOMIC_RELAXED);
				w->stall_start = now;
				evs_stat_add_slow(EVS_ST_stalls, 1);
			}
			if (now - w->mon_signalled >= EVS_STALL_NS) {
				unwind_setup();
				w->mon_signalled = now;
				evs_stat_add_slow(EVS_ST_preempt_signals, 1);
				REAL(pthread_kill)(w->thread, EVS_SIG_PREEMPT);
			}
		}
		if (stalled == live && live < evs_config.max_workers && evs_sched_add_worker() == 0)
			evs_stat_add_slow(EVS_ST_workers_added, 1);
	}
	return NULL;
}

void evs_monitor_init(void)
{
	dl_iterate_phdr(collect, NULL);
	for (size_t i = 0; i < NWRAP; i++) {
		void *p = dlsym(RTLD_NEXT, wrappers[i]);
		Dl_info di;
		/* only libc's own: a wrapper the program defines is its code */
		if (p && dladdr(p, &di) && kind_of_name(di.dli_fname) == MOD_LIBC)
			wrapper_at[i] = (uintptr_t)p;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_preempt;
	/* SA_NODEFER: the handler may switch tasks and not come back for a
	 * while; the signal must stay deliverable to the worker meanwhile. */
	sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(EVS_SIG_PREEMPT, &sa, NULL);
	evs_monitor_worker_start();
}

void evs_monitor_worker_start(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, EVS_SIG_PREEMPT);
	REAL(pthread_sigmask)(SIG_UNBLOCK, &s, NULL);
}

void evs_monitor_start(void)
{
	if (!evs_config.monitor || __atomic_exchange_n(&running, 1, __ATOMIC_ACQ_REL))
		return;
	if (evs_kthread_spawn(&monitor, monitor_main, NULL, true) < 0) {
		running = 0;
		evs_log(EVS_LOG_WARN, "evshim: cannot start the monitor");
	}
}

void evs_monitor_atfork_child(void)
{
	running = 0;  /* the watchdog stayed in the parent; started anew */
}
