/* The monitor: keeps a worker stuck where the shim cannot see (a raw
 * syscall(), a library's own futex, a CPU-bound loop) from stopping the
 * tasks queued behind it. Design comment at the top of monitor.c. */
#ifndef EVS_MONITOR_H
#define EVS_MONITOR_H
#include <signal.h>
#include <stdbool.h>

/* The signal the monitor preempts with: a real-time signal near the top,
 * which programs rarely use (glibc reserves the bottom ones). */
#define EVS_SIG_PREEMPT (SIGRTMAX - 1)

void evs_monitor_init(void);          /* at load: signal handler, module map */
void evs_monitor_start(void);         /* with the runtime: the watchdog thread */
void evs_monitor_worker_start(void);  /* on each worker: unblock the signal */
void evs_monitor_atfork_child(void);
/* Is the watchdog thread running (it is not in a process that never
 * started the runtime, nor in a fork()ed child until it starts again)? */
bool evs_monitor_running(void);
/* Send w the runtime's signal, after posting what it is for (sig_ipi,
 * preempt_req): unless one is already on its way, whose handler will see
 * the post. The signal is a real-time one, which the kernel queues per
 * sending, and its handler runs SA_NODEFER; sent once per change,
 * thousands reached one busy worker together and their handlers nested
 * until the stack ran out (mosquitto). */
#include <stdbool.h>
struct evs_worker;
bool evs_monitor_ipi(struct evs_worker *w);   /* false: one was on its way */
/* exec: the runtime's signal blocked in the mask the new program starts
 * with (m) and none of it left pending; undone if exec fails. */
void evs_monitor_exec_mask(sigset_t *m);
void evs_monitor_exec_drain(void);
void evs_monitor_exec_failed(void);

/* Work was queued for a worker (a wake-up, a new task). While every
 * running task has nothing behind it, the monitor looks less often
 * (monitor.c); this brings it back to every tick. One load when it
 * already looks every tick. */
/* A preemption refused on t's worker (the shim or libc on the stack):
 * from a hook's return, t yields if another task is ready there. */
struct evs_task;
void evs_monitor_owed_yield(struct evs_task *t);
/* t's stack, [lo, hi) (main's: up to where the kernel put the
 * arguments), and where a signal's context uc shows t interrupted
 * (rt/safepoint.h). */
#include <stdint.h>
#include <ucontext.h>
#include "safepoint.h"
void evs_monitor_stack_of(const struct evs_task *t, uintptr_t *lo, uintptr_t *hi);
enum evs_at evs_monitor_classify(const struct evs_task *t, ucontext_t *uc);

extern int evs_monitor_slow;
void evs_monitor_nudge_slow(void);
static inline void evs_monitor_nudge(void)
{
	if (__builtin_expect(__atomic_load_n(&evs_monitor_slow, __ATOMIC_RELAXED), 0))
		evs_monitor_nudge_slow();
}
#endif
