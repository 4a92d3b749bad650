/* What it would cost to see system calls the hooks cannot (docs/design.md,
 * decision 17): a system call made plainly, trapped by Syscall User
 * Dispatch and emulated in the SIGSYS handler, and let through by SUD
 * (the selector is read on every call). Also shows what SUD does across
 * fork and exec. No preload: this measures the kernel mechanism. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_ON 1
#endif
#ifndef SYSCALL_DISPATCH_FILTER_ALLOW
#define SYSCALL_DISPATCH_FILTER_ALLOW 0
#define SYSCALL_DISPATCH_FILTER_BLOCK 1
#endif

#define N 200000

static volatile char selector = SYSCALL_DISPATCH_FILTER_ALLOW;
static volatile long traps;

/* The one place system calls are let through while the selector blocks:
 * its own section, whose bounds the linker gives us. */
__attribute__((noinline, section("evs_allowed")))
static long allowed_call(long nr, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}
extern char __start_evs_allowed[], __stop_evs_allowed[];

static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	traps++;
	g[REG_RAX] = allowed_call(si->si_syscall, g[REG_RDI], g[REG_RSI], g[REG_RDX]);
	/* sigreturn is a system call too: let it through */
	selector = SYSCALL_DISPATCH_FILTER_ALLOW;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static double per_call(int block)
{
	double t0 = now();
	for (int i = 0; i < N; i++) {
		if (block)
			selector = SYSCALL_DISPATCH_FILTER_BLOCK;
		syscall(SYS_getppid);
	}
	return (now() - t0) / N * 1e9;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);
	double plain = per_call(0);
	if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON,
		  (unsigned long)__start_evs_allowed,
		  (unsigned long)(__stop_evs_allowed - __start_evs_allowed), &selector)) {
		printf("syscall user dispatch: not available here (%s)\n", strerror(errno));
		return 0;
	}
	double trapped = per_call(1);
	selector = SYSCALL_DISPATCH_FILTER_ALLOW;
	double through = per_call(0);
	printf("getppid, ns per call: plain %.0f, trapped by SUD and emulated %.0f, "
	       "let through by SUD %.0f (%ld traps)\n", plain, trapped, through, traps);
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		long before = traps;
		selector = SYSCALL_DISPATCH_FILTER_BLOCK;
		syscall(SYS_getppid);
		selector = SYSCALL_DISPATCH_FILTER_ALLOW;
		printf("after fork: %s\n", traps > before ? "still trapped" : "no longer trapped");
		fflush(stdout);
		_exit(0);
	}
	waitpid(p, NULL, 0);
	return 0;
}
