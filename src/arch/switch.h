/* The context switch contract.
 *
 * evs_ctx_make(ctx, stack_lo, size, fn, arg): prepare ctx so that the first
 *   evs_ctx_switch() into it calls fn(arg) on that stack; fn never returns.
 * evs_ctx_switch(from, to): save the callee-saved state of the caller into
 *   from and resume to. Returns when something switches back to from.
 *
 * Saved state (x86-64 assembly): rbx, rbp, r12-r15, rsp, MXCSR and the x87
 * control word; nothing else is callee-saved in the SysV ABI. No signal mask:
 * the mask belongs to the worker (kernel thread), not to the task, and saving
 * it costs a system call per switch (about 1 us here).
 *
 * EVSHIM_SWITCH=ucontext selects glibc's swapcontext for the whole switch
 * (portable, and a reference to test the assembly against); makecontext is
 * then used for new contexts too. The choice is made once at start-up. */
#ifndef EVS_SWITCH_H
#define EVS_SWITCH_H
#include <stddef.h>
#include <stdint.h>
#include <ucontext.h>

struct evs_ctx {
	void *sp;        /* offset 0: saved stack pointer (assembly) */
	ucontext_t *uc;  /* ucontext mode only */
};

extern int evs_switch_ucontext;  /* set once before any task exists */

void evs_ctx_make(struct evs_ctx *ctx, void *stack_lo, size_t size,
		  void (*fn)(void *), void *arg, ucontext_t *uc_storage);

/* Assembly (arch/x86_64/switch.S) or ucontext (arch/generic/ucontext.c). */
void evs_ctx_switch_asm(struct evs_ctx *from, struct evs_ctx *to);

/* A suspended context's registers as a ucontext (for stack walks: the
 * task dump). Only for a context nobody is running. */
void evs_ctx_regs(const struct evs_ctx *ctx, ucontext_t *uc);
/* A suspended context's stack pointer (either switch mode). */
uintptr_t evs_ctx_sp(const struct evs_ctx *ctx);

static inline void evs_ctx_switch(struct evs_ctx *from, struct evs_ctx *to)
{
	if (__builtin_expect(evs_switch_ucontext, 0))
		swapcontext(from->uc, to->uc);
	else
		evs_ctx_switch_asm(from, to);
}
/* fn(arg) on the stack whose top is `top` (arch/x86_64/switch.S). */
void evs_call_on_stack(void *top, void (*fn)(void *), void *arg);
#endif
