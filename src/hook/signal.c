/* The signal calls: thin translations of rt/signal.h for tasks. Threads
 * the runtime does not own (and everything under EVSHIM_DISABLE=1) get
 * the real calls, except that the monitor's own signal stays unblocked
 * and hidden (docs/differences.md). */
#include "hook.h"
#include "../rt/config.h"
#include "../rt/monitor.h"
#include "../rt/signal.h"
#include "../rt/timer.h"
#include "../libc/sys.h"
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Signals whose handler is installed without SA_RESTART by signal()
 * (siginterrupt(sig, 1)), as glibc keeps them. */
static evs_sigbits sigintr;

static bool ours(void)
{
	return !evs_config.disable && evs_sig_ready && !evs_vfork_child;
}

/* A thread the runtime does not own: the real mask call, with the
 * monitor's signal kept out of it. */
static int real_mask(int (*real)(int, const sigset_t *, sigset_t *), int how,
		     const sigset_t *set, sigset_t *old)
{
	sigset_t copy;
	if (set && how != SIG_UNBLOCK && sigismember(set, EVS_SIG_PREEMPT) == 1) {
		copy = *set;
		sigdelset(&copy, EVS_SIG_PREEMPT);
		set = &copy;
	}
	int r = real(how, set, old);
	if (r == 0 && old)
		sigdelset(old, EVS_SIG_PREEMPT);
	return r;
}

EVS_HOOK int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	if (evs_config.disable || !evs_current())
		return real_mask(REAL(sigprocmask), how, set, old);
	return (int)evs_ret(evs_sig_procmask(how, set, old));
}

EVS_HOOK int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	if (evs_config.disable || !evs_current())
		return real_mask(REAL(pthread_sigmask), how, set, old);
	return -evs_sig_procmask(how, set, old);
}

/* sigaltstack of a task: its own, recorded and reported as the kernel
 * would, never given to the kernel. The kernel's alternate stack of each
 * worker stays the runtime's (64 KiB, rt/crash.c): the runtime's own
 * signal runs there (rt/monitor.c), as do handlers of the program that
 * the kernel delivers with SA_ONSTACK. A program's stack there would be
 * shared by every task of the worker, kept after the task that set it
 * ended and freed it, and could be smaller than the runtime's signal
 * needs (CPython's faulthandler sets 16 KiB). */
#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)  /* the kernel's (Linux 4.7) */
#endif

static long task_altstack(struct evs_task *t, const stack_t *ss, stack_t *old)
{
	stack_t *a = &t->sig.alt;
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	bool on = a->ss_size && sp - (uintptr_t)a->ss_sp < a->ss_size;
	stack_t was = *a;
	was.ss_flags = on ? SS_ONSTACK : a->ss_size ? (a->ss_flags & SS_AUTODISARM) : SS_DISABLE;
	if (ss) {
		int mode = ss->ss_flags & ~(int)SS_AUTODISARM;
		if (on)
			return -EPERM;
		if (mode != 0 && mode != SS_ONSTACK && mode != SS_DISABLE)
			return -EINVAL;
		if (mode == SS_DISABLE) {
			*a = (stack_t){ 0 };
		} else {
			if (ss->ss_size < 2048)  /* the kernel's MINSIGSTKSZ (glibc's may be sysconf's larger one) */
				return -ENOMEM;
			*a = *ss;
			a->ss_flags = ss->ss_flags & SS_AUTODISARM;
		}
	}
	if (old)
		*old = was;
	return 0;
}

EVS_HOOK int sigaltstack(const stack_t *ss, stack_t *old)
{
	struct evs_task *t;
	if (!ours() || !(t = evs_current()))
		return REAL(sigaltstack)(ss, old);
	return (int)evs_ret(task_altstack(t, ss, old));
}

EVS_HOOK int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!ours())
		return REAL(sigaction)(sig, act, old);
	return (int)evs_ret(evs_sig_action(sig, act, old));
}

/* signal(): BSD semantics, as glibc's: the handler runs with its own
 * signal blocked, and calls restart unless siginterrupt said otherwise. */
static __sighandler_t bsd(int sig, __sighandler_t h)
{
	struct sigaction act, old;
	memset(&act, 0, sizeof(act));
	act.sa_handler = h;
	sigemptyset(&act.sa_mask);
	if (sig > 0 && sig <= EVS_SIGMAX) {
		sigaddset(&act.sa_mask, sig);
		act.sa_flags = (sigintr & evs_sigbit(sig)) ? 0 : SA_RESTART;
	}
	if (evs_ret(evs_sig_action(sig, &act, &old)) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

EVS_HOOK __sighandler_t signal(int sig, __sighandler_t h)
{
	if (!ours())
		return REAL(signal)(sig, h);
	return bsd(sig, h);
}

EVS_HOOK __sighandler_t bsd_signal(int sig, __sighandler_t h)
{
	if (!ours())
		return REAL(bsd_signal)(sig, h);
	return bsd(sig, h);
}

/* sysv_signal(): one shot, not blocked while it runs, no restart. */
EVS_HOOK __sighandler_t sysv_signal(int sig, __sighandler_t h)
{
	if (!ours())
		return REAL(sysv_signal)(sig, h);
	struct sigaction act, old;
	memset(&act, 0, sizeof(act));
	act.sa_handler = h;
	act.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigemptyset(&act.sa_mask);
	if (evs_ret(evs_sig_action(sig, &act, &old)) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

EVS_HOOK int siginterrupt(int sig, int flag)
{
	if (!ours())
		return REAL(siginterrupt)(sig, flag);
	struct sigaction act;
	long r = evs_sig_action(sig, NULL, &act);
	if (r < 0)
		return (int)evs_ret(r);
	if (flag) {
		__atomic_or_fetch(&sigintr, evs_sigbit(sig), __ATOMIC_RELAXED);
		act.sa_flags &= ~SA_RESTART;
	} else {
		__atomic_and_fetch(&sigintr, ~evs_sigbit(sig), __ATOMIC_RELAXED);
		act.sa_flags |= SA_RESTART;
	}
	return (int)evs_ret(evs_sig_action(sig, &act, NULL));
}

/* What the runtime holds of mask goes to the kernel, where the signalfd
 * reads (rt/signal.c, to_kernel). Noted before the fd exists: a signal
 * routed meanwhile is held in the kernel already. */
EVS_HOOK int signalfd(int fd, const sigset_t *mask, int flags)
{
	if (!evs_config.disable && mask)
		evs_sig_signalfd_made(mask);
	return REAL(signalfd)(fd, mask, flags);
}

EVS_HOOK int sigpending(sigset_t *set)
{
	if (evs_config.disable || !evs_current())
		return REAL(sigpending)(set);
	evs_sig_pending(set);
	return 0;
}

static int suspend(evs_sigbits mask)
{
	long r = evs_sig_suspend(mask);
	if (r == -ECANCELED)
		evs_task_testcancel();
	return (int)evs_ret(r == -ECANCELED ? -EINTR : r);
}

EVS_HOOK int sigsuspend(const sigset_t *mask)
{
	if (evs_config.disable || !evs_current())
		return REAL(sigsuspend)(mask);
	return suspend(evs_sigset_bits(mask));
}

EVS_HOOK int pause(void)
{
	if (evs_config.disable || !evs_current())
		return REAL(pause)();
	return suspend(evs_current()->sig.mask);
}

/* The BSD and System V mask calls. glibc makes them with its internal
 * sigprocmask, sigaction and sigsuspend, which no preload reaches: the
 * kernel's mask changed under the task's (dash clears its mask with
 * sigsetmask(0) after a vfork that sigprocmask had blocked everything
 * for, so the shim held every signal blocked from then on, and each
 * child the shell forked started with all of them blocked: kwsys in
 * `cmake --build` waited for ever for its SIGCHLD). Each is made here
 * from the calls above, as glibc makes it. Masks as ints hold signals
 * 1-32, glibc's sigmask(). */
static int mask_bits_old(int how, int mask)
{
	sigset_t set, old;
	sigemptyset(&set);
	set.__val[0] = (unsigned int)mask;
	if (sigprocmask(how, &set, &old) < 0)
		return -1;
	return (int)(unsigned int)old.__val[0];
}

EVS_HOOK int sigblock(int mask)
{
	return mask_bits_old(SIG_BLOCK, mask);
}

EVS_HOOK int sigsetmask(int mask)
{
	return mask_bits_old(SIG_SETMASK, mask);
}

EVS_HOOK int siggetmask(void)
{
	return mask_bits_old(SIG_BLOCK, 0);
}

static int one_sig(int how, int sig)
{
	sigset_t set;
	sigemptyset(&set);
	if (sigaddset(&set, sig) < 0)
		return -1;
	return sigprocmask(how, &set, NULL);
}

EVS_HOOK int sighold(int sig)
{
	return one_sig(SIG_BLOCK, sig);
}

EVS_HOOK int sigrelse(int sig)
{
	return one_sig(SIG_UNBLOCK, sig);
}

EVS_HOOK int sigignore(int sig)
{
	struct sigaction act;
	memset(&act, 0, sizeof(act));
	act.sa_handler = SIG_IGN;
	sigemptyset(&act.sa_mask);
	return sigaction(sig, &act, NULL);
}

/* sigset: SIG_HOLD blocks the signal, anything else becomes its action
 * (no flags, nothing more blocked) and unblocks it; the answer is
 * SIG_HOLD when it was blocked, else the action before. */
EVS_HOOK __sighandler_t sigset(int sig, __sighandler_t disp)
{
	sigset_t set, old;
	sigemptyset(&set);
	if (sigaddset(&set, sig) < 0)
		return SIG_ERR;
	struct sigaction act, prev;
	if (disp == SIG_HOLD) {
		if (sigaction(sig, NULL, &prev) < 0 || sigprocmask(SIG_BLOCK, &set, &old) < 0)
			return SIG_ERR;
		return sigismember(&old, sig) ? SIG_HOLD : prev.sa_handler;
	}
	memset(&act, 0, sizeof(act));
	act.sa_handler = disp;
	sigemptyset(&act.sa_mask);
	if (sigaction(sig, &act, &prev) < 0 || sigprocmask(SIG_UNBLOCK, &set, &old) < 0)
		return SIG_ERR;
	return sigismember(&old, sig) ? SIG_HOLD : prev.sa_handler;
}

/* sigpause: sigsuspend with the current mask less one signal (X/Open's,
 * and BSD's with is_sig), or with an int mask (BSD's). */
EVS_HOOK int __sigpause(int sig_or_mask, int is_sig)
{
	sigset_t set;
	if (is_sig) {
		if (sigprocmask(SIG_BLOCK, NULL, &set) < 0 || sigdelset(&set, sig_or_mask) < 0)
			return -1;
	} else {
		sigemptyset(&set);
		set.__val[0] = (unsigned int)sig_or_mask;
	}
	return sigsuspend(&set);
}

/* glibc's header names X/Open's __xpg_sigpause "sigpause" (with
 * _GNU_SOURCE): BSD's sigpause is defined under its own name here. */
EVS_HOOK int bsd_sigpause(int mask) __asm__("sigpause");
EVS_HOOK int bsd_sigpause(int mask)
{
	return __sigpause(mask, 0);
}

EVS_HOOK int __xpg_sigpause(int sig)
{
	return __sigpause(sig, 1);
}

/* The sigwait family. A cancellation request ends the wait (they are
 * cancellation points). */
static long wait_for(const sigset_t *set, siginfo_t *info, int64_t deadline)
{
	siginfo_t local;
	for (;;) {
		long r = evs_sig_wait(evs_sigset_bits(set), info ? info : &local, deadline);
		if (r != -ECANCELED)
			return r;
		evs_task_testcancel();
	}
}

EVS_HOOK int sigwait(const sigset_t *set, int *sig)
{
	if (evs_config.disable || !evs_current())
		return REAL(sigwait)(set, sig);
	long r;
	do  /* glibc's sigwait goes on after a handler ran (no EINTR) */
		r = wait_for(set, NULL, INT64_MAX);
	while (r == -EINTR);
	/* a signal of another set that came meanwhile: its handler has run
	 * when the call returns, as natively (evs_ret) */
	evs_ret(0);
	if (r < 0)
		return (int)-r;
	*sig = (int)r;
	return 0;
}

/* glibc's sigwaitinfo and sigtimedwait report a signal sent with tkill or
 * tgkill (raise, pthread_kill) as SI_USER, folding the kernel's SI_TKILL;
 * the system call itself does not. */
static long folded(long r, siginfo_t *info)
{
	if (r > 0 && info && info->si_code == SI_TKILL)
		info->si_code = SI_USER;
	return r;
}

EVS_HOOK int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
	if (evs_config.disable || !evs_current())
		return REAL(sigwaitinfo)(set, info);
	return (int)evs_ret(folded(wait_for(set, info, INT64_MAX), info));
}

long evs_hook_sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *ts)
{
	int64_t deadline = INT64_MAX;
	if (ts) {
		if (ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000 || ts->tv_sec < 0)
			return -EINVAL;
		deadline = evs_now_ns() + (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
	}
	return wait_for(set, info, deadline);
}

EVS_HOOK int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *ts)
{
	if (evs_config.disable || !evs_current())
		return REAL(sigtimedwait)(set, info, ts);
	return (int)evs_ret(folded(evs_hook_sigtimedwait(set, info, ts), info));
}

/* --- sending to a task --------------------------------------------------- */

EVS_HOOK int raise(int sig)
{
	struct evs_task *t = evs_current();
	if (evs_config.disable || !t)
		return REAL(raise)(sig);
	return (int)evs_ret(evs_sig_send(t, sig, NULL));
}

EVS_HOOK int pthread_kill(pthread_t th, int sig)
{
	struct evs_task *t = evs_task_from_pthread(th);
	if (!t && evs_task_gone(th))
		return 0;  /* as glibc for a thread that has ended */
	if (evs_config.disable || !t)
		return REAL(pthread_kill)(th, sig);
	int r = -evs_sig_send(t, sig, NULL);
	/* glibc (2.34 on) sends nothing to a thread that is exiting or has
	 * ended, and says 0; pthread_sigqueue says ESRCH (its tid is gone) */
	return r == ESRCH ? 0 : r;
}

EVS_HOOK int pthread_sigqueue(pthread_t th, int sig, const union sigval v)
{
	struct evs_task *t = evs_task_from_pthread(th);
	if (!t && evs_task_gone(th))
		return ESRCH;
	if (evs_config.disable || !t)
		return REAL(pthread_sigqueue)(th, sig, v);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value = v;
	return -evs_sig_send(t, sig, &si);
}

/* --- sending to processes ------------------------------------------------ */

/* The real call; then, if it may have reached this process, what it sent
 * is handled before the call returns (evs_sig_sent). */
static int sent(int r)
{
	if (r == 0 && !evs_config.disable && evs_current())
		evs_sig_sent();
	return r;
}

/* Is pid this process, for a task's call? Then a caught signal is routed
 * by the runtime (evs_sig_kill_self). */
static bool to_self(pid_t pid)
{
	/* the kept id first: a kill of another process (PostgreSQL's latches)
	 * makes no getpid() call */
	return pid > 0 && !evs_config.disable && evs_current() && pid == evs_sig_pid &&
	       pid == getpid();
}

EVS_HOOK int kill(pid_t pid, int sig)
{
	if (to_self(pid)) {
		long r = evs_sig_kill_self(sig, NULL);
		if (r != EVS_USE_REAL)
			return (int)evs_ret(r);
	}
	return sent(REAL(kill)(pid, sig));
}

EVS_HOOK int killpg(pid_t pgrp, int sig)
{
	return sent(REAL(killpg)(pgrp, sig));
}

EVS_HOOK int sigqueue(pid_t pid, int sig, const union sigval v)
{
	if (to_self(pid)) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		si.si_code = SI_QUEUE;
		si.si_pid = getpid();
		si.si_uid = getuid();
		si.si_value = v;
		long r = evs_sig_kill_self(sig, &si);
		if (r != EVS_USE_REAL)
			return (int)evs_ret(r);
	}
	return sent(REAL(sigqueue)(pid, sig, v));
}

/* The system call itself: glibc has the wrapper only since 2.36. */
EVS_HOOK int pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned int flags)
{
	return sent((int)evs_ret(evs_sys6(SYS_pidfd_send_signal, pidfd, sig, info, flags, 0, 0)));
}

/* sigsetjmp(env, 1) (glibc's __sigsetjmp, and its setjmp function) saves
 * the mask with glibc's internal sigprocmask: the worker thread's, only
 * what every task blocks. The assembly stub (hook/sigsetjmp_x86_64.S)
 * calls this before it jumps to glibc's __sigsetjmp, which must run on
 * the program's own frame: here the task's mask is noted in env, in words
 * of __saved_mask the kernel's 64-bit mask leaves unused (glibc writes
 * word 0, then __mask_was_saved, after this returns): word 1 holds the
 * mask, word 2 a mark made from it (a copy of the buffer stays good). A
 * sigsetjmp(env, 0) writes nothing here: the unwind buffer of
 * pthread_cleanup_push ends at __mask_was_saved; glibc then clears
 * __mask_was_saved, which is enough to make an older mark unread. */
#define SIGJMP_MARK 0x6576736d61736b31ULL  /* "evsmask1" */

static unsigned long sigjmp_mark(unsigned long mask)
{
	return SIGJMP_MARK ^ (mask * 0x9e3779b97f4a7c15ULL);
}

__attribute__((visibility("hidden"))) void *evs_hook_sigsetjmp(struct __jmp_buf_tag *env,
							       int savemask)
{
	if (savemask) {
		unsigned long *w = env->__saved_mask.__val;
		if (ours() && evs_current()) {
			sigset_t cur;
			evs_sig_procmask(SIG_BLOCK, NULL, &cur);
			w[1] = (unsigned long)evs_sigset_bits(&cur);
			w[2] = sigjmp_mark(w[1]);
		} else {
			w[2] = 0;  /* glibc's own word 0 is the mask */
		}
	}
	return (void *)REAL(__sigsetjmp);
}

/* The mask a jump puts back: the task's, when sigsetjmp noted it. */
static const sigset_t *saved_mask(const struct __jmp_buf_tag *env, sigset_t *buf)
{
	const unsigned long *w = env->__saved_mask.__val;
	if (w[2] != sigjmp_mark(w[1]))
		return &env->__saved_mask;
	evs_bits_sigset((evs_sigbits)w[1], buf);
	return buf;
}

/* siglongjmp, longjmp, _longjmp and __longjmp_chk (glibc: one jump,
 * which puts back the mask sigsetjmp saved, when it saved one). glibc
 * sets that mask with its internal sigprocmask, out of the shim's sight:
 * a handler that left with siglongjmp kept its signal blocked in the
 * task's mask (the runtime adds it for the handler's run), so every
 * later one stayed queued and the waits it should have cut short ran
 * their full time (tests/progs/siglongjmp_wait.c). Here the task's mask
 * is set as sigprocmask sets it (the one evs_hook_sigsetjmp noted), with
 * the handlers of what that unblocks run first (the kernel runs them as
 * that call returns, before the jump), and the real jump is made from a
 * copy that puts back no mask. The copy is read whole before the stack
 * pointer moves. */
extern void __longjmp_chk(struct __jmp_buf_tag env[1], int val) __attribute__((__noreturn__));

static _Noreturn void jump(void (*real)(struct __jmp_buf_tag *, int), struct __jmp_buf_tag *env,
			   int val)
{
	if (env->__mask_was_saved && ours() && evs_current()) {
		struct __jmp_buf_tag copy = *env;
		copy.__mask_was_saved = 0;
		sigset_t buf;
		evs_sig_procmask(SIG_SETMASK, saved_mask(env, &buf), NULL);
		real(&copy, val);
	} else {
		real(env, val);
	}
	__builtin_unreachable();
}

EVS_HOOK void siglongjmp(sigjmp_buf env, int val)
{
	jump(REAL(siglongjmp), env, val);
}

EVS_HOOK void longjmp(jmp_buf env, int val)
{
	jump(REAL(longjmp), env, val);
}

EVS_HOOK void _longjmp(jmp_buf env, int val)
{
	jump(REAL(_longjmp), env, val);
}

EVS_HOOK void __longjmp_chk(struct __jmp_buf_tag env[1], int val)
{
	jump(REAL(__longjmp_chk), env, val);
}

/* tgkill of this process with a task's gettid reaches that task. */
long evs_hook_tgkill_task(pid_t tgid, pid_t tid, int sig, bool *done)
{
	*done = false;
	if (evs_config.disable || tgid != getpid())
		return 0;
	struct evs_task *t = evs_sig_task_of_tid(tid);
	if (!t)
		return 0;
	*done = true;
	return evs_sig_send(t, sig, NULL);
}

EVS_HOOK int tgkill(pid_t tgid, pid_t tid, int sig)
{
	bool done;
	long r = evs_hook_tgkill_task(tgid, tid, sig, &done);
	if (!done)
		return REAL(tgkill)(tgid, tid, sig);
	return (int)evs_ret(r);
}

EVS_HOOK pid_t gettid(void)
{
	if (evs_config.disable || !evs_current())
		return REAL(gettid)();
	return evs_sig_gettid();
}
