/* x86-64: spin-wait hint and the raw system call (the kernel's ABI: number
 * in rax, arguments in rdi, rsi, rdx, r10, r8, r9; rcx and r11 clobbered;
 * -4095..-1 is -errno). */
#ifndef EVS_ARCH_X86_64_CPU_H
#define EVS_ARCH_X86_64_CPU_H
#include <stdbool.h>
#include <stdint.h>

static inline void evs_cpu_relax(void)
{
	__builtin_ia32_pause();
}

static inline long evs_raw_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* Load the thread pointer (the FS base). With FSGSBASE (Ivy Bridge and
 * later, Linux 5.9+, announced in AT_HWCAP2) one unprivileged instruction;
 * otherwise arch_prctl, a system call (about 1 us on a VM, more where the
 * hypervisor traps it). `fast` is the caller's cached answer of
 * evs_cpu_has_wrfsbase(). */
#include <sys/auxv.h>
#include <asm/prctl.h>
#include <sys/syscall.h>
static inline bool evs_cpu_has_wrfsbase(void)
{
	return (getauxval(AT_HWCAP2) & 2) != 0;  /* HWCAP2_FSGSBASE */
}

static inline void evs_cpu_set_fs(void *tp, bool fast)
{
	if (fast)
		__asm__ volatile("wrfsbase %0" : : "r"(tp) : "memory");
	else
		evs_raw_syscall6(SYS_arch_prctl, ARCH_SET_FS, (long)tp, 0, 0, 0, 0);
}

/* A signal's saved context (ucontext_t *uc) of a thread the kernel has
 * set up to restart a system call (SA_RESTART: the instruction pointer is
 * back on the `syscall` instruction and rax holds the call's number
 * again): the number and the six arguments, or false when the context is
 * not that. */
#include <ucontext.h>
/* A system call's six arguments from a saved context, into call[1..6]. */
static inline void evs_uc_syscall_args(const greg_t *g, long call[7])
{
	call[1] = g[REG_RDI];
	call[2] = g[REG_RSI];
	call[3] = g[REG_RDX];
	call[4] = g[REG_R10];
	call[5] = g[REG_R8];
	call[6] = g[REG_R9];
}

static inline bool evs_uc_restart_syscall(const ucontext_t *uc, long call[7])
{
	const greg_t *g = uc->uc_mcontext.gregs;
	const unsigned char *ip = (const unsigned char *)g[REG_RIP];
	if (ip[0] != 0x0f || ip[1] != 0x05)  /* syscall */
		return false;
	call[0] = g[REG_RAX];
	evs_uc_syscall_args(g, call);
	return true;
}

/* That context is on a `syscall` instruction the thread had made, which
 * the kernel set up to be made again (the instruction sets rcx to the
 * address after it, and the kernel leaves it so), not one it had yet to
 * reach; or on a learned site's `ud2` that stands for one, rcx set the
 * same way (evs_uc_syscall_made, rt/sitetrap.c). */
static inline bool evs_uc_call_pending(const ucontext_t *uc)
{
	const greg_t *g = uc->uc_mcontext.gregs;
	const unsigned char *ip = (const unsigned char *)g[REG_RIP];
	return g[REG_RCX] == g[REG_RIP] + 2 && ip[0] == 0x0f && (ip[1] == 0x05 || ip[1] == 0x0b);
}

/* A signal's saved context just after a `syscall` instruction that the
 * signal ended with -EINTR (a call the kernel does not restart): the
 * call's six arguments (the kernel keeps rdi, rsi, rdx, r10, r8, r9
 * across a call; only rax, rcx and r11 change) in call[1..6], the pc
 * after the instruction and the stack pointer; false when the context is
 * not that. */
static inline bool evs_uc_intr_syscall(const ucontext_t *uc, long call[7], uintptr_t *pc,
				       uintptr_t *sp)
{
	const greg_t *g = uc->uc_mcontext.gregs;
	const unsigned char *ip = (const unsigned char *)g[REG_RIP];
	/* the two bytes before the pc: never across into a page that may
	 * not be mapped (code at the very start of a mapping) */
	if (g[REG_RAX] != -4 /* -EINTR */ || ((uintptr_t)ip & 4095) < 2 ||
	    ip[-2] != 0x0f || ip[-1] != 0x05)
		return false;
	evs_uc_syscall_args(g, call);
	*pc = (uintptr_t)g[REG_RIP];
	*sp = (uintptr_t)g[REG_RSP];
	return true;
}

/* A context stopped on an instruction that stands for a `syscall`
 * (rt/sitetrap.c): rcx and r11 set as that instruction sets them (the
 * address after it, the flags), so the context looks like a call made. */
static inline void evs_uc_syscall_made(ucontext_t *uc)
{
	greg_t *g = uc->uc_mcontext.gregs;
	g[REG_RCX] = g[REG_RIP] + 2;
	g[REG_R11] = g[REG_EFL];
}

/* Where that context resumes. */
static inline uintptr_t evs_uc_pc(const ucontext_t *uc)
{
	return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
}

/* The same context set to make system call nr again, as the kernel sets
 * one up to restart it: back on the `syscall` instruction, rax its number. */
static inline void evs_uc_redo_syscall(ucontext_t *uc, long nr)
{
	uc->uc_mcontext.gregs[REG_RAX] = nr;
	uc->uc_mcontext.gregs[REG_RIP] -= 2;
}

/* The same context, resumed as if the system call had returned `result`. */
static inline void evs_uc_finish_syscall(ucontext_t *uc, long result)
{
	uc->uc_mcontext.gregs[REG_RAX] = result;
	uc->uc_mcontext.gregs[REG_RIP] += 2;
}
#endif
