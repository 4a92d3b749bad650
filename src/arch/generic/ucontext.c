/* The portable ucontext fallback (EVSHIM_SWITCH=ucontext). swapcontext
 * saves and restores the signal mask with a system call each time, so this
 * path costs about a microsecond per switch here; it exists for portability
 * and as a reference for the assembly. */
#include "../../evs.h"
#include "../switch.h"
#include <stdint.h>

int evs_switch_ucontext;

/* makecontext passes int arguments only: split the pointers in two. */
static void uc_entry(unsigned fhi, unsigned flo, unsigned ahi, unsigned alo)
{
	void (*fn)(void *) = (void (*)(void *))(((uintptr_t)fhi << 32) | flo);
	void *arg = (void *)(((uintptr_t)ahi << 32) | alo);
	fn(arg);
	__builtin_trap();
}

void evs_ctx_make_ucontext(struct evs_ctx *ctx, void *stack_lo, size_t size,
			   void (*fn)(void *), void *arg, ucontext_t *uc)
{
	uintptr_t f = (uintptr_t)fn, a = (uintptr_t)arg;
	getcontext(uc);
	uc->uc_stack.ss_sp = stack_lo;
	uc->uc_stack.ss_size = size;
	uc->uc_link = NULL;
	makecontext(uc, (void (*)(void))uc_entry, 4, (unsigned)(f >> 32),
		    (unsigned)f, (unsigned)(a >> 32), (unsigned)a);
	ctx->uc = uc;
	ctx->sp = NULL;
}
