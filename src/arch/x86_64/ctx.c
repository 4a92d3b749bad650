/* evs_ctx_make for x86-64: lay out the frame switch.S pops. */
#include "../../evs.h"
#include "../switch.h"
#include <stdint.h>
#include <string.h>

void evs_ctx_trampoline(void);
void evs_ctx_make_ucontext(struct evs_ctx *ctx, void *stack_lo, size_t size,
			   void (*fn)(void *), void *arg, ucontext_t *uc);

/* The frame switch.S restores: control words, six registers, return. */
struct frame {
	uint32_t mxcsr;
	uint16_t fpucw;
	uint16_t pad;
	uint64_t r15, r14, r13, r12, rbx, rbp;
	uint64_t ret;
};
_Static_assert(sizeof(struct frame) == 64, "frame layout used by switch.S");
_Static_assert(offsetof(struct evs_ctx, sp) == 0, "switch.S stores sp at 0");

/* Default floating-point control state of a new thread (all exceptions
 * masked, round to nearest, extended precision for x87). */
#define EVS_MXCSR_DEFAULT 0x1F80
#define EVS_FPUCW_DEFAULT 0x037F

void evs_ctx_make(struct evs_ctx *ctx, void *stack_lo, size_t size,
		  void (*fn)(void *), void *arg, ucontext_t *uc)
{
	if (evs_switch_ucontext) {
		evs_ctx_make_ucontext(ctx, stack_lo, size, fn, arg, uc);
		return;
	}
	uintptr_t top = ((uintptr_t)stack_lo + size) & ~(uintptr_t)15;
	/* After `ret` pops the return slot %rsp is f + 64, and the ABI wants
	 * it 16-aligned before the trampoline's call: so f is 16-aligned. The
	 * 16 bytes above the frame are slack nobody reads. */
	struct frame *f = (struct frame *)(top - sizeof(*f) - 16);
	memset(f, 0, sizeof(*f));
	f->mxcsr = EVS_MXCSR_DEFAULT;
	f->fpucw = EVS_FPUCW_DEFAULT;
	f->r12 = (uint64_t)(uintptr_t)fn;
	f->r13 = (uint64_t)(uintptr_t)arg;
	f->ret = (uint64_t)(uintptr_t)evs_ctx_trampoline;
	ctx->sp = f;
	ctx->uc = uc;
}

/* The registers of a suspended context, as a ucontext a stack walker can
 * start from: the state just after switch.S's `ret` (the caller of
 * evs_ctx_switch resuming). Only for a context that is not running. */
uintptr_t evs_ctx_sp(const struct evs_ctx *ctx)
{
	if (evs_switch_ucontext)
		return (uintptr_t)ctx->uc->uc_mcontext.gregs[REG_RSP];
	return (uintptr_t)ctx->sp;
}

void evs_ctx_regs(const struct evs_ctx *ctx, ucontext_t *uc)
{
	if (evs_switch_ucontext) {
		*uc = *ctx->uc;
		return;
	}
	const struct frame *f = ctx->sp;
	memset(uc, 0, sizeof(*uc));
	greg_t *g = uc->uc_mcontext.gregs;
	g[REG_RIP] = (greg_t)f->ret;
	g[REG_RSP] = (greg_t)((uintptr_t)f + sizeof(*f));
	g[REG_RBP] = (greg_t)f->rbp;
	g[REG_RBX] = (greg_t)f->rbx;
	g[REG_R12] = (greg_t)f->r12;
	g[REG_R13] = (greg_t)f->r13;
	g[REG_R14] = (greg_t)f->r14;
	g[REG_R15] = (greg_t)f->r15;
}
