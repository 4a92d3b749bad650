/* A kernel signal frame moved off the worker's alternate stack
 * (rt/sigframe.c): the handler goes on below a copy of it on another
 * stack (the task's own, or the alternate stack the task set), and
 * returns from the copy. Used by the monitor's handler (a preemption, a
 * program signal owed on a foreign stack) and by the runtime's handler of
 * program signals (one whose handler runs on the task's alternate stack). */
#ifndef EVS_SIGFRAME_H
#define EVS_SIGFRAME_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <ucontext.h>

/* Was the task interrupted on the alternate stack this frame is on (the
 * kernel's, whose setting uc_stack records; its ss_flags are the ones
 * set, never SS_ONSTACK), the frame nested under others there? */
static inline bool evs_sigframe_nested(const ucontext_t *uc)
{
	uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	return !(uc->uc_stack.ss_flags & SS_DISABLE) &&
	       sp - 1 - (uintptr_t)uc->uc_stack.ss_sp < uc->uc_stack.ss_size;
}

/* Go on with fn(uc) on a copy of the kernel's frame just below `below`,
 * then sigreturn from the copy. Returns only if it cannot: the frame's
 * length unknown, the copy would start below `floor` (0: no floor), or
 * with grow, the copy would overlap the frame. grow: `below` is on main's
 * stack, whose pages below the deepest it has reached may not be mapped
 * yet. Without grow, a signal that comes while the copy is made (one the
 * handler's mask lets in) must find the stack pointer still on the
 * alternate stack: the copy is made from there. */
void evs_sigframe_move(ucontext_t *uc, uintptr_t below, uintptr_t floor, void (*fn)(void *),
		       bool grow);
#endif
