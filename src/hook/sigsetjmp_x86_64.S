/* __sigsetjmp and setjmp, for x86-64: sigsetjmp(env, 1) must save the
 * calling task's mask, which glibc would read from the worker thread with
 * its own system call (the signals every task blocks). glibc's
 * __sigsetjmp returns twice: it records the registers, the stack pointer
 * of its caller and its own return address, so no frame of ours may lie
 * between the program's frame and glibc's. The stub calls into C first
 * (evs_hook_sigsetjmp, hook/signal.c: it notes the task's mask in env
 * and answers glibc's __sigsetjmp), that call returns, and the stub then
 * jumps to glibc's __sigsetjmp with the program's arguments and stack
 * exactly as it received them. setjmp (the function, not the <setjmp.h>
 * macro, which is _setjmp) is glibc's __sigsetjmp(env, 1): it reaches
 * glibc's internally, so it goes through the same stub. _setjmp saves no
 * mask and is left alone. */
	.text
	.hidden	evs_hook_sigsetjmp

	.globl	setjmp
	.type	setjmp, @function
setjmp:
	.cfi_startproc
	movl	$1, %esi
	jmp	.Lsigsetjmp
	.cfi_endproc
	.size	setjmp, .-setjmp

	.globl	__sigsetjmp
	.type	__sigsetjmp, @function
__sigsetjmp:
	.cfi_startproc
.Lsigsetjmp:
	pushq	%rdi				/* env */
	.cfi_adjust_cfa_offset 8
	pushq	%rsi				/* savemask */
	.cfi_adjust_cfa_offset 8
	subq	$8, %rsp			/* 16-byte aligned for the call */
	.cfi_adjust_cfa_offset 8
	call	evs_hook_sigsetjmp		/* -> glibc's __sigsetjmp */
	addq	$8, %rsp
	.cfi_adjust_cfa_offset -8
	popq	%rsi
	.cfi_adjust_cfa_offset -8
	popq	%rdi
	.cfi_adjust_cfa_offset -8
	jmp	*%rax				/* the program's frame, as it called */
	.cfi_endproc
	.size	__sigsetjmp, .-__sigsetjmp

	.section .note.GNU-stack,"",@progbits
