/* x86-64 SysV context switch. See ../switch.h for the contract.
 *
 * Frame left on a suspended stack (low to high):
 *   [rsp+0]  MXCSR (4 bytes), x87 control word (2 bytes), pad
 *   [rsp+8]  r15, r14, r13, r12, rbx, rbp
 *   [rsp+56] return address
 * %rsp always points into a valid stack, so a signal arriving mid-switch
 * lands on the old or the new stack, never on garbage. */
	.text
	.globl	evs_ctx_switch_asm
	.hidden	evs_ctx_switch_asm
	.type	evs_ctx_switch_asm, @function
evs_ctx_switch_asm:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movq	%rsp, (%rdi)		/* from->sp */
	movq	(%rsi), %rsp		/* to->sp */
	ldmxcsr	(%rsp)
	fldcw	4(%rsp)
	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	evs_ctx_switch_asm, .-evs_ctx_switch_asm

/* First frame of a new context: evs_ctx_make puts fn in r12 and arg in r13
 * and arranges %rsp to be 16-byte aligned here, as the ABI wants before a
 * call. The return address slot is undefined so unwinders stop here. */
	.globl	evs_ctx_trampoline
	.hidden	evs_ctx_trampoline
	.type	evs_ctx_trampoline, @function
evs_ctx_trampoline:
	.cfi_startproc
	.cfi_undefined rip
	movq	%r13, %rdi
	callq	*%r12
	ud2
	.cfi_endproc
	.size	evs_ctx_trampoline, .-evs_ctx_trampoline

/* evs_sigframe_continue(frame, fn, from, len, mask): finish a signal
 * handler on another stack. frame holds a copy of the kernel's signal
 * frame (its return slot, then the ucontext, siginfo and FPU state), or
 * gets one here: the len bytes at from are copied to it once the stack
 * pointer is below it (whoever grows a stack only down to the stack
 * pointer, valgrind for the main thread's, then grows it for the copy),
 * and the signal mask is then set to *mask (the caller blocked every
 * signal for the copy: off the alternate stack, a signal's frame would be
 * written over the source). fn(&ucontext) runs on the stack just below
 * the copy, then rt_sigreturn restores the interrupted context from it,
 * as a return from the handler would (rt/monitor.c). */
	.globl	evs_sigframe_continue
	.hidden	evs_sigframe_continue
	.type	evs_sigframe_continue, @function
evs_sigframe_continue:
	.cfi_startproc
	.cfi_undefined rip
	movq	%rdi, %rbx
	movq	%rsi, %r12
	movq	%r8, %r13
	movq	%rdi, %rsp
	andq	$-16, %rsp
	movq	%rdx, %rsi
	cld
	rep movsb			/* (%rsi) -> (%rdi), %rcx bytes */
	testq	%r13, %r13
	jz	1f
	movl	$14, %eax		/* SYS_rt_sigprocmask */
	movl	$2, %edi		/* SIG_SETMASK */
	movq	%r13, %rsi
	xorl	%edx, %edx
	movl	$8, %r10d
	syscall
1:
	leaq	8(%rbx), %rdi
	callq	*%r12
	leaq	8(%rbx), %rsp
	movl	$15, %eax		/* SYS_rt_sigreturn */
	syscall
	ud2
	.cfi_endproc
	.size	evs_sigframe_continue, .-evs_sigframe_continue

/* evs_call_on_stack(top, fn, arg): fn(arg) with the stack pointer at top
 * (rounded down to 16), then back on the caller's stack; %rbp holds the
 * way back, so unwinders walk through (a program's signal handler run on
 * its task's alternate stack, rt/signal.c). */
	.globl	evs_call_on_stack
	.hidden	evs_call_on_stack
	.type	evs_call_on_stack, @function
evs_call_on_stack:
	.cfi_startproc
	pushq	%rbp
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset rbp, 0
	movq	%rsp, %rbp
	.cfi_def_cfa_register rbp
	andq	$-16, %rdi
	movq	%rdi, %rsp
	movq	%rdx, %rdi
	callq	*%rsi
	movq	%rbp, %rsp
	popq	%rbp
	.cfi_def_cfa rsp, 8
	ret
	.cfi_endproc
	.size	evs_call_on_stack, .-evs_call_on_stack

	.section .note.GNU-stack,"",@progbits
