/* Crash reports: a task that faults (or aborts) says which task it was,
 * where, and for a stack overflow how to get a bigger stack; then the
 * process ends by the same signal, as it would without the shim.
 *
 * Where the program leaves a fatal signal at SIG_DFL, the kernel's
 * disposition is this handler instead (sigaction still reports SIG_DFL to
 * the program: rt/signal.c keeps its view). The handler runs on a
 * per-worker alternate stack, so a task that ran off its stack can still
 * be reported; then it puts SIG_DFL back and lets the signal happen again
 * (a fault repeats when the instruction does; a sent signal is raised
 * again), so the exit status, the core dump and the parent's view are the
 * kernel's own. */
#include "../evs.h"
#include "crash.h"
#include "config.h"
#include "safepoint.h"
#include "sched.h"
#include "task.h"
#include "stack.h"
#include "../libc/real.h"
#include "../libc/sys.h"
#include "../obs/log.h"
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define EVS_ALTSTACK (64 << 10)
#define EVS_CRASH_FRAMES 32

static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS };

bool evs_crash_owns(int sig)
{
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		if (fatal[i] == sig)
			return true;
	return false;
}

struct out {
	char buf[12288];
	size_t n;
};

#define put(o, ...) evs_text_put((o)->buf, sizeof((o)->buf), &(o)->n, __VA_ARGS__)

static const char *signame(int sig)
{
	const char *a = sigabbrev_np(sig);
	return a ? a : "?";
}

/* Who was running: a task, the runtime's own scheduler, or a thread the
 * runtime does not run tasks on. */
static void who(struct out *o, struct evs_task *t, struct evs_worker *w)
{
	if (t && t->name[0])
		put(o, "task %llu \"%s\" (tid %d) on worker %d", (unsigned long long)t->id,
		    t->name, t->sig.vtid, w->id);
	else if (t)
		put(o, "task %llu (tid %d) on worker %d", (unsigned long long)t->id, t->sig.vtid,
		    w->id);
	else if (w)
		put(o, "worker %d's scheduler (the runtime itself: please report this)", w->id);
	else
		put(o, "thread %ld, which runs no tasks", evs_sys3(SYS_gettid, 0, 0, 0));
}

static void report(int sig, const siginfo_t *si, ucontext_t *uc, bool fault, bool sigframe)
{
	static struct out o;  /* the alternate stack is small; one report at a time */
	struct evs_worker *w = evs_self;
	struct evs_task *t = w ? w->cur : NULL;
	uintptr_t addr = (uintptr_t)si->si_addr;
	uintptr_t sp = uc ? (uintptr_t)uc->uc_mcontext.gregs[REG_RSP] : 0;
	uintptr_t lo = t ? (uintptr_t)t->stack_lo : 0;
	/* Into the guard page, or a frame so big its stack pointer went past
	 * the whole guard (a large local array). */
	bool overflow = fault && t && t != &evs_main_task && lo && (sig == SIGSEGV || sig == SIGBUS) &&
			((addr >= (uintptr_t)t->map && addr < lo) ||
			 (sp < lo && sp + (64 << 20) > lo && addr < lo));
	/* Natively a crash prints nothing (the shell's "Segmentation fault"
	 * is the shell's); the program's stderr stays its own (CPython's
	 * faulthandler tests compare it) unless the runtime is the likely
	 * cause: a task stack it sized ran out, or the fault is in the
	 * runtime itself. The rest at EVSHIM_LOG=info and above. */
	bool ours = !t || (fault && uc &&
			   evs_safepoint_at_ip((uintptr_t)uc->uc_mcontext.gregs[REG_RIP]) == EVS_AT_SHIM);
	if (!overflow && !(ours && evs_log_level >= EVS_LOG_WARN) && evs_log_level < EVS_LOG_INFO)
		return;
	o.n = 0;
	put(&o, "evshim[%ld]: ", evs_sys3(SYS_getpid, 0, 0, 0));
	who(&o, t, w);
	if (overflow) {
		put(&o, " overflowed its stack: %zu KiB, all used (fault at %p, %zu bytes below "
		    "it).\nevshim[%ld]: raise the task stack size: EVSHIM_STACK_SIZE (now %s%zu%s), "
		    "or pthread_attr_setstacksize in the program; the process ends with SIGSEGV\n",
		    evs_stack_asked(t) >> 10, si->si_addr, (size_t)(lo - addr), evs_sys3(SYS_getpid, 0, 0, 0),
		    evs_config.stack_size ? "" : "unset: the process default, ",
		    (evs_config.stack_size ? evs_config.stack_size : evs_stack_asked(t)) >> 10, " KiB");
	} else if (fault) {
		put(&o, ": SIG%s (code %d, address %p); the process ends with it\n", signame(sig),
		    si->si_code, si->si_addr);
	} else {
		put(&o, ": SIG%s raised by the process itself; the process ends with it\n",
		    signame(sig));
	}
	if (uc)
		o.n += evs_backtrace(uc, sigframe, EVS_CRASH_FRAMES, o.buf + o.n, sizeof(o.buf) - o.n);
	evs_sys_write(2, o.buf, o.n);
}

static void set_default(int sig)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	REAL(sigaction)(sig, &dfl, NULL);
}

static void on_fatal(int sig, siginfo_t *si, void *ucv)
{
	static int entered;
	bool fault = si->si_code > 0;
	bool self = si->si_code <= 0 && si->si_pid == (pid_t)evs_sys3(SYS_getpid, 0, 0, 0);
	if (!__atomic_exchange_n(&entered, 1, __ATOMIC_ACQ_REL) && (fault || self))
		report(sig, si, ucv, fault, true);
	set_default(sig);
	if (!fault)  /* a sent signal: again, now with the kernel's default */
		evs_sys3(SYS_tgkill, evs_sys3(SYS_getpid, 0, 0, 0), evs_sys3(SYS_gettid, 0, 0, 0), sig);
	/* A fault happens again when the instruction is retried. */
}

void evs_crash_action(struct sigaction *real)
{
	memset(real, 0, sizeof(*real));
	real->sa_sigaction = on_fatal;
	real->sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigfillset(&real->sa_mask);
}

void evs_crash_init(void)
{
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		struct sigaction cur, act;
		if (REAL(sigaction)(fatal[i], NULL, &cur) != 0 || cur.sa_handler != SIG_DFL ||
		    (cur.sa_flags & SA_SIGINFO))
			continue;
		evs_crash_action(&act);
		REAL(sigaction)(fatal[i], &act, NULL);
	}
	evs_crash_thread_start();
}

void evs_crash_thread_start(void)
{
	stack_t cur;
	if (evs_sys3(SYS_sigaltstack, 0, (long)&cur, 0) == 0 && !(cur.ss_flags & SS_DISABLE))
		return;  /* the program's, or ours already */
	void *p = mmap(NULL, EVS_ALTSTACK, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (p == MAP_FAILED)
		return;
	stack_t ss = { .ss_sp = p, .ss_size = EVS_ALTSTACK, .ss_flags = 0 };
	if (evs_sys3(SYS_sigaltstack, (long)&ss, 0, 0) != 0)
		munmap(p, EVS_ALTSTACK);
}

void evs_crash_thread_end(void)
{
	stack_t cur, off = { .ss_flags = SS_DISABLE };
	if (evs_sys3(SYS_sigaltstack, 0, (long)&cur, 0) == 0 && !(cur.ss_flags & SS_DISABLE) &&
	    cur.ss_size == EVS_ALTSTACK && evs_sys3(SYS_sigaltstack, (long)&off, 0, 0) == 0)
		munmap(cur.ss_sp, EVS_ALTSTACK);
}

void evs_crash_note(int sig)
{
	ucontext_t uc;
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	si.si_signo = sig;
	si.si_code = SI_TKILL;
	getcontext(&uc);
	static int entered;
	if (!__atomic_exchange_n(&entered, 1, __ATOMIC_ACQ_REL))
		report(sig, &si, &uc, false, false);
}
