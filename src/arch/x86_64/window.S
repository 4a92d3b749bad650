/* evs_window_syscall(const struct evs_window *w): see ../window.h. No
 * stack is used between evs_window_start and the `syscall`, so the exit a
 * signal handler sends the thread to (evs_window_out) returns to the
 * caller from anywhere in that stretch. */
	.text
	.globl	evs_window_syscall
	.hidden	evs_window_syscall
	.globl	evs_window_start
	.hidden	evs_window_start
	.globl	evs_window_sys
	.hidden	evs_window_sys
	.globl	evs_window_out
	.hidden	evs_window_out
	.type	evs_window_syscall, @function
evs_window_syscall:
	.cfi_startproc
evs_window_start:
	movq	0(%rdi), %rax		/* a signal noted in the inbox? */
	movl	(%rax), %eax
	cmpl	8(%rdi), %eax
	jne	evs_window_out
	movq	16(%rdi), %rax		/* one queued for the task, not blocked? */
	movq	(%rax), %rax
	movq	24(%rdi), %rcx
	notq	%rcx
	testq	%rcx, %rax
	jnz	evs_window_out
	movq	32(%rdi), %rax
	movq	48(%rdi), %rsi
	movq	56(%rdi), %rdx
	movq	64(%rdi), %r10
	movq	72(%rdi), %r8
	movq	80(%rdi), %r9
	movq	40(%rdi), %rdi
evs_window_sys:
	syscall
	ret
evs_window_out:
	movq	$-4, %rax		/* -EINTR */
	ret
	.cfi_endproc
	.size	evs_window_syscall, .-evs_window_syscall

/* evs_offable_syscall(nr, a, b, c, d, e, f): see ../window.h. */
	.globl	evs_offable_syscall
	.hidden	evs_offable_syscall
	.globl	evs_offable_sys
	.hidden	evs_offable_sys
	.type	evs_offable_syscall, @function
evs_offable_syscall:
	.cfi_startproc
	movq	%rdi, %rax
	movq	%rsi, %rdi
	movq	%rdx, %rsi
	movq	%rcx, %rdx
	movq	%r8, %r10
	movq	%r9, %r8
	movq	8(%rsp), %r9
	xorl	%ecx, %ecx		/* the kernel sets it on entry (../window.h) */
evs_offable_sys:
	syscall
	ret
	.cfi_endproc
	.size	evs_offable_syscall, .-evs_offable_syscall

	.section .note.GNU-stack,"",@progbits
