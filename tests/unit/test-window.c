/* The window (arch/window.h): a signal that lands anywhere between the
 * stub's first instruction and its `syscall` makes the call return
 * -EINTR without entering the kernel; one that lands after it changes
 * nothing; a noted signal or a pending unblocked one ends the call
 * before the kernel. Landing points are made exact by single-stepping
 * the stub (the trap flag: SIGTRAP after every instruction) and letting
 * the handler bail at the k-th instruction inside the window. */
#include "arch/window.h"
#include "check.h"
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
static volatile int bail_at, step, bailed, stepping;

static void on_trap(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	bool in_stub = ip >= (uintptr_t)evs_window_syscall && ip <= (uintptr_t)evs_window_out + 8;
	if (ip >= (uintptr_t)evs_window_start && ip <= (uintptr_t)evs_window_sys &&
	    step++ == bail_at)
		bailed = evs_window_bail(uc);
	if (in_stub)
		stepping = 1;
	else if (stepping)  /* back in the caller: stop stepping */
		uc->uc_mcontext.gregs[REG_EFL] &= ~0x100L;
}

__attribute__((noinline)) static long stepped(const struct evs_window *w)
{
	stepping = 0;
	__asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq" ::: "memory", "cc");
	long r = evs_window_syscall(w);
	__asm__ volatile("pushfq; andq $~0x100, (%%rsp); popfq" ::: "memory", "cc");
	return r;
}
#endif

int main(void)
{
#if defined(__x86_64__)
	unsigned head = 5;
	uint64_t pend = 0;
	struct evs_window w = { .head = &head, .seen = 5, .pend = &pend, .blocked = 0,
				.nr = SYS_getppid };
	long ppid = getppid();
	CHECK(evs_window_syscall(&w) == ppid, "nothing noted: the call is made");
	head = 6;
	CHECK(evs_window_syscall(&w) == -EINTR, "a noted signal: -EINTR before the kernel");
	head = 5;
	pend = 1ULL << (SIGUSR1 - 1);
	w.blocked = pend;
	CHECK(evs_window_syscall(&w) == ppid, "a pending signal the task blocks: the call is made");
	w.blocked = 0;
	CHECK(evs_window_syscall(&w) == -EINTR, "a pending unblocked one: -EINTR");
	pend = 0;

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGTRAP, &sa, NULL);
	/* how many instructions the window has, stepped without a bail */
	bail_at = -1;
	step = 0;
	CHECK(stepped(&w) == ppid, "stepped, no bail: the call is made");
	int n = step;
	CHECK(n >= 10, "the window holds the look and the loads (%d instructions)", n);
	for (int k = 0; k < n; k++) {
		bail_at = k;
		step = 0;
		bailed = 0;
		long r = stepped(&w);
		CHECK(bailed && r == -EINTR, "a signal at instruction %d of %d: -EINTR (got %ld)", k, n, r);
	}
	/* after the kernel returned, a bail finds nothing to do */
	ucontext_t uc;
	memset(&uc, 0, sizeof(uc));
	uc.uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)(evs_window_sys + 2);
	CHECK(!evs_window_bail(&uc), "past the syscall: left alone");
	uc.uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)evs_window_sys;
	CHECK(evs_window_bail(&uc) && uc.uc_mcontext.gregs[REG_RIP] == (greg_t)(uintptr_t)evs_window_out,
	      "on the syscall (a restart): sent to the exit");
	printf("window: %d instructions, %d checks, %d failed\n", n, checked, failures);
#else
	printf("window: not on this architecture\n");
#endif
	return failures != 0;
}
