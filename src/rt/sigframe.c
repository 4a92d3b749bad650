/* A kernel signal frame moved to another stack: see sigframe.h. */
#include "sigframe.h"
#include "../libc/sys.h"
#include <signal.h>
#include <string.h>

void evs_sigframe_continue(void *frame, void (*fn)(void *uc), const void *from, size_t len,
			   const uint64_t *mask) __attribute__((noreturn));

/* The kernel's signal frame starts with the handler's return slot just
 * below the ucontext and ends with the FPU state uc_mcontext.fpregs
 * points to (its software-reserved bytes say how long it is); 0 when
 * unknown. */
static size_t frame_len(ucontext_t *uc)
{
	char *start = (char *)uc - sizeof(void *);
	const char *fp = (const char *)uc->uc_mcontext.fpregs;
	size_t fplen = 512;  /* fxsave */
	uint32_t magic, ext;
	memcpy(&magic, fp + 464, sizeof(magic));
	memcpy(&ext, fp + 468, sizeof(ext));
	if (magic == 0x46505853U /* FP_XSTATE_MAGIC1 */ && ext >= 512 && ext <= (1u << 20))
		fplen = ext;
	if (fp < start)
		return 0;
	return (size_t)(fp + fplen - start);
}

void evs_sigframe_move(ucontext_t *uc, uintptr_t below, uintptr_t floor, void (*fn)(void *),
		       bool grow)
{
	size_t len = frame_len(uc);
	if (!len)
		return;
	char *from = (char *)uc - sizeof(void *);
	/* The frame is the only one on the alternate stack (the task was on
	 * its own): everything from it to the top belongs to it. Whoever
	 * delivers the signal may keep more there than the kernel's layout
	 * says (valgrind keeps its own record of the frame past the FPU
	 * state and checks it at sigreturn: without it, valgrind killed the
	 * program at the first preemption, "return signal frame
	 * corrupted"). */
	stack_t alt;
	if (evs_sys3(SYS_sigaltstack, 0, &alt, 0) == 0 && !(alt.ss_flags & SS_DISABLE)) {
		char *top = (char *)alt.ss_sp + alt.ss_size;
		if (from >= (char *)alt.ss_sp && from + len <= top && (size_t)(top - from) <= len + 4096)
			len = (size_t)(top - from);
	}
	/* The copy ends at `below` (under the red zone) and keeps its offset
	 * modulo 64, so the FPU state stays aligned as xrstor wants it. */
	intptr_t d = (intptr_t)below - (intptr_t)(from + len);
	d &= ~(intptr_t)63;
	char *to = from + d;
	if (floor && (uintptr_t)to < floor)
		return;  /* no room there */
	if (!grow) {
		/* copied from here, on the alternate stack: a signal that comes
		 * meanwhile (the handler defers none) is written below */
		memmove(to, from, len);
		ucontext_t *nuc = (ucontext_t *)(to + sizeof(void *));
		nuc->uc_mcontext.fpregs = (fpregset_t)((char *)uc->uc_mcontext.fpregs + d);
		evs_sigframe_continue(to, fn, NULL, 0, NULL);
	}
	/* Main's stack: the kernel grows it for any access, valgrind only
	 * down to the stack pointer, and a copy written from the alternate
	 * stack into a page main never touched killed the program there
	 * (SIGSEGV; stalls deepspin). So the stack pointer moves below the
	 * copy first (switch.S). Off the alternate stack, a signal would be
	 * written at its top, over the frame being copied: every signal is
	 * blocked for the copy, the handler's mask back once it is made. */
	if (to + len > from && from + len > to)
		return;  /* the copy would overlap its source: not here */
	uint64_t all = ~0ULL, old;
	if (evs_sys6(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof(old), 0, 0) != 0)
		return;
	/* the copy's FPU pointer, set in the source (which is left behind) */
	uc->uc_mcontext.fpregs = (fpregset_t)((char *)uc->uc_mcontext.fpregs + d);
	evs_sigframe_continue(to, fn, from, len, &old);
}
