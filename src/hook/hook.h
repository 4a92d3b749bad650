/* What every hook file includes. A hook does three things: pass through
 * when the caller is not a task, call one runtime verb, and turn its
 * -errno result into the libc convention (evs_ret). */
#ifndef EVS_HOOK_H
#define EVS_HOOK_H
#include "../evs.h"
#include "../libc/real.h"
#include "../rt/sched.h"
#include "../rt/report.h"
#include "../rt/signal.h"
#include "../rt/task.h"
#include "../rt/monitor.h"
#include <errno.h>

/* Internal result (>= 0 or -errno) to the libc -1/errno convention.
 * On the way back to the program, the task's deliverable signals have
 * their handlers run first, as the kernel runs them on the way back from
 * a system call: a signal that reached a parked task just as another
 * wake-up came (a semaphore posted right after a kill) is handled before
 * the call returns, not at some later call (CPython's
 * test_threadsignals saw its handler run after it had been replaced). */
/* Signals owed to task t on its way out of a hook: a signal noted while
 * the call was inside the runtime or under the hook's frame (a write's
 * SIGPIPE) is routed first, then every deliverable one's handler runs,
 * before the call returns, as natively. */
static inline bool evs_hook_owes_signals(struct evs_task *t)
{
	return !evs_sig_inbox_empty(&t->w->sigin) || evs_sig_deliverable(&t->sig);
}

static inline void evs_hook_signals(struct evs_task *t)
{
	if (!evs_sig_inbox_empty(&t->w->sigin))
		evs_sig_worker_poll(t->w);
	evs_sig_run();
}

static inline long evs_ret(long r)
{
	struct evs_task *t = evs_current();
	/* A preemption the monitor could not make while the task was inside
	 * the call is made here, where the call hands back to the program
	 * (as safe a point as any park inside it). */
	if (EVS_UNLIKELY(t && __atomic_load_n(&t->w->yield_owed, __ATOMIC_RELAXED)))
		evs_monitor_owed_yield(t);
	if (EVS_UNLIKELY(t && evs_hook_owes_signals(t)))
		evs_hook_signals(t);
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* After a real call made on the task's behalf from inside a hook (glibc's
 * stdio, whose writes no preload can reach): what evs_ret does for
 * signals, keeping the call's errno. */
static inline void evs_hook_after(void)
{
	struct evs_task *t = evs_current();
	if (EVS_LIKELY(!t || !evs_hook_owes_signals(t)))
		return;
	int e = errno;
	evs_hook_signals(t);
	errno = e;
}
#define EVS_AFTER(call) ({ __typeof__(call) after_r_ = (call); evs_hook_after(); after_r_; })

/* tgkill(tgid, tid, sig) when tid is a task's gettid: sent to the task
 * (*done set) as pthread_kill would (hook/signal.c). */
long evs_hook_tgkill_task(pid_t tgid, pid_t tid, int sig, bool *done);

/* The system call rt_sigtimedwait for a task (hook/signal.c): the
 * signal, or -errno; si_code as the kernel gives it (sigtimedwait
 * folds SI_TKILL). */
struct timespec;
long evs_hook_sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *ts);

/* Around setting a seccomp mode (prctl, syscall(SYS_seccomp); hook/proc.c):
 * a single-task process leaves the runtime first, and comes back if the
 * call failed. */
void evs_hook_before_seccomp(void);
/* syscall(SYS_prlimit64 or SYS_setrlimit, ...): the open-files limit
 * (hook/proc.c). n is the number, then the call's arguments (for
 * setrlimit: 0, resource, limit). */
struct rlimit;
long evs_hook_raw_rlimit(long n, long pid, long res, const struct rlimit *rl, long d);
void evs_hook_after_seccomp(int failed);
/* pthread_create: would the kernel refuse a thread (RLIMIT_NPROC) with
 * this many live tasks? (hook/proc.c) */
int evs_hook_nproc_refuses(uint64_t live);

/* close_range(first, last, flags) around the runtime's own fds
 * (hook/fdio.c): 0 or -errno. */
long evs_hook_close_range(unsigned first, unsigned last, int flags);

/* syscall(SYS_getdents64 or SYS_getdents, fd, buf, len) without the
 * runtime's fds when fd lists this process's fds (hook/procfd.c). */
long evs_hook_getdents(long n, int fd, void *buf, size_t len);

/* A call the runtime cannot make park: counted under the hook's name,
 * then the real one. */
#define EVS_FALLBACK() evs_fallback(__func__, NULL)
#endif
