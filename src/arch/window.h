/* A system call a signal handler can stop before it enters the kernel.
 *
 * The classic race of a wait that a signal must end: the signal lands
 * after the last look for pending signals and before the system call,
 * its handler only notes it, and the call then sleeps through it. Here
 * the look is made inside a marked stretch of code (the window) that ends
 * with the `syscall` instruction: the stub bails out with -EINTR when the
 * signal inbox (head moved past `seen`) or the task's pending signals
 * (`*pend & ~blocked`) show something, and a handler that interrupts the
 * stretch itself (evs_window_bail) sends the thread to the same exit. A
 * signal that comes once the call is in the kernel ends it with EINTR as
 * usual; one the kernel would restart (the instruction pointer back on
 * `syscall`) is in the window again and bails the same way.
 * x86-64 only (arch/x86_64/window.S); elsewhere evs_window_usable is
 * false and the callers wait the runtime's way. */
#ifndef EVS_ARCH_WINDOW_H
#define EVS_ARCH_WINDOW_H
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <ucontext.h>
#include <unistd.h>

struct evs_window {
	const unsigned *head;    /* +0: the worker's signal inbox head */
	unsigned seen;           /* +8: its value when nothing was noted */
	const uint64_t *pend;    /* +16: the task's pending signals */
	uint64_t blocked;        /* +24: the task's mask */
	long nr;                 /* +32: the system call */
	long a[6];               /* +40: its arguments */
};

#if defined(__x86_64__)
#define evs_window_usable 1
long evs_window_syscall(const struct evs_window *w);
extern const char evs_window_start[], evs_window_sys[], evs_window_out[];
/* In a signal handler: the interrupted thread was in the window and not
 * yet in the kernel; it now leaves with -EINTR. True when it was. */
static inline bool evs_window_bail(ucontext_t *uc)
{
	uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	if (ip < (uintptr_t)evs_window_start || ip > (uintptr_t)evs_window_sys)
		return false;
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)evs_window_out;
	return true;
}
/* In a signal handler: the interrupted thread has left the kernel's call
 * in the window with -EINTR (the instruction after `syscall`), so its
 * caller is about to look at what was noted. */
static inline bool evs_window_eintr(const ucontext_t *uc)
{
	return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP] == (uintptr_t)evs_window_sys + 2 &&
	       uc->uc_mcontext.gregs[REG_RAX] == -EINTR;
}
/* A system call of the runtime's own that may wait on what the runtime
 * cannot see (an open of a FIFO waits for its other end): made through
 * this one site, so that the monitor's signal, finding a thread blocked
 * there, may have it made elsewhere as it does a program's own raw call
 * (rt/handoff.c). Returns the result or -errno. */
long evs_offable_syscall(long nr, long a, long b, long c, long d, long e, long f);
extern const char evs_offable_sys[];
/* In a signal handler: the thread was in that site's call, which the
 * kernel is to make again (its restart put the pc back on `syscall`).
 * Not when the signal came just before the call: the stub zeroes rcx,
 * which the `syscall` instruction sets to the return address. */
static inline bool evs_offable_at(const ucontext_t *uc)
{
	const greg_t *g = uc->uc_mcontext.gregs;
	return (uintptr_t)g[REG_RIP] == (uintptr_t)evs_offable_sys &&
	       (uintptr_t)g[REG_RCX] == (uintptr_t)evs_offable_sys + 2;
}
/* In a signal handler, the thread at that site: the call returns -EINTR
 * instead of being made again (a signal for the task ends it). */
static inline void evs_offable_bail(ucontext_t *uc)
{
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)((uintptr_t)evs_offable_sys + 2);
	uc->uc_mcontext.gregs[REG_RAX] = -EINTR;
}
#else
#define evs_window_usable 0
static inline long evs_offable_syscall(long nr, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(nr, a, b, c, d, e, f);
	return r < 0 ? -errno : r;
}
static inline bool evs_offable_at(const ucontext_t *uc)
{
	(void)uc;
	return false;
}
static inline void evs_offable_bail(ucontext_t *uc)
{
	(void)uc;
}
static inline long evs_window_syscall(const struct evs_window *w)
{
	(void)w;
	return -38;  /* ENOSYS: never called (evs_window_usable) */
}
static inline bool evs_window_bail(ucontext_t *uc)
{
	(void)uc;
	return false;
}
static inline bool evs_window_eintr(const ucontext_t *uc)
{
	(void)uc;
	return false;
}
#endif
#endif
