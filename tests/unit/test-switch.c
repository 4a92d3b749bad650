/* The context switch, in both modes: control passes back and forth, the
 * callee-saved state survives, each context keeps its own MXCSR, a new
 * context starts 16-byte aligned. */
#include "arch/switch.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <xmmintrin.h>

#define ROUNDS 100000
#define STACK (256 * 1024)

static struct evs_ctx main_ctx, co_ctx;
static ucontext_t main_uc, co_uc;
static volatile long counter;
static int misaligned, mxcsr_bad;

__attribute__((noinline, optimize("no-omit-frame-pointer")))
static void check_align(void)
{
	/* With a frame pointer, rbp = entry rsp - 8, which the ABI makes a
	 * multiple of 16. */
	if ((uintptr_t)__builtin_frame_address(0) % 16)
		misaligned = 1;
}

static void co(void *arg)
{
	(void)arg;
	check_align();
	/* This context rounds toward zero; main keeps round-to-nearest. */
	_MM_SET_ROUNDING_MODE(_MM_ROUND_TOWARD_ZERO);
	for (;;) {
		counter++;
		evs_ctx_switch(&co_ctx, &main_ctx);
		if (_MM_GET_ROUNDING_MODE() != _MM_ROUND_TOWARD_ZERO)
			mxcsr_bad = 1;
	}
}

static int run(int ucontext_mode)
{
	evs_switch_ucontext = ucontext_mode;
	void *stk = mmap(NULL, STACK, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	main_ctx.uc = &main_uc;
	counter = 0;
	evs_ctx_make(&co_ctx, stk, STACK, co, NULL, &co_uc);
	/* Callee-saved registers hold values across the switch calls: the
	 * compiler keeps these in registers in the loop. */
	register long a = 11, b = 22, c = 33;
	for (long i = 0; i < ROUNDS; i++) {
		evs_ctx_switch(&main_ctx, &co_ctx);
		a += 1; b += 2; c += 3;
		if (_MM_GET_ROUNDING_MODE() != _MM_ROUND_NEAREST)
			mxcsr_bad = 1;
	}
	int ok = counter == ROUNDS && a == 11 + ROUNDS && b == 22 + 2L * ROUNDS &&
		 c == 33 + 3L * ROUNDS && !misaligned && !mxcsr_bad;
	printf("%s: %ld switches pairs, registers %s, alignment %s, mxcsr %s\n",
	       ucontext_mode ? "ucontext" : "asm", counter,
	       (a == 11 + ROUNDS) ? "kept" : "LOST", misaligned ? "BAD" : "ok",
	       mxcsr_bad ? "MIXED" : "per context");
	munmap(stk, STACK);
	return ok;
}

int main(void)
{
	int ok = run(0);
	ok &= run(1);
	return ok ? 0 : 1;
}
