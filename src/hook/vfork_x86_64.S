/* vfork, for x86-64: written in assembly (as __sigsetjmp is), because the child
 * returns from vfork on the parent's stack and runs on, so no frame of
 * ours may be needed after the system call (the parent resumes from the
 * same return address, which therefore lives in a register, as in glibc).
 *
 * The child shares the parent's memory, and runs on the parent's thread
 * pointer, until it execs or exits: it must never touch the runtime
 * (start it, park, take its locks, change the fd table or the signal
 * dispositions, all of which are the parent's). So the worker pointer
 * evs_self is cleared around the system call, and evs_vfork_child set:
 * in the child every hook sees a thread the runtime does not own, and the
 * fd table and the signal state refuse changes. The parent (whose thread
 * is suspended meanwhile) puts both back, and notes in evs_vfork_exited
 * the pid of a child that left by _exit (whose hook sets the mark to 2):
 * that child is past the point where the parent resumes and becomes a
 * zombie within microseconds, so a wait for it need not park. */
	.text
	.globl	vfork
	.type	vfork, @function
vfork:
	.cfi_startproc
	popq	%rdi				/* the return address */
	.cfi_adjust_cfa_offset -8
	.cfi_register rip, rdi
	movq	evs_self@gottpoff(%rip), %rsi	/* evs_self's offset from %fs */
	movq	evs_vfork_child@gottpoff(%rip), %r8
	movq	%fs:(%rsi), %rdx		/* kept in a register across the call */
	movq	$0, %fs:(%rsi)
	movl	$1, %fs:(%r8)			/* the child's mark (cleared below for the parent) */
	movl	$58, %eax			/* SYS_vfork */
	syscall
	testq	%rax, %rax
	jz	1f				/* the child: a foreign thread, marked */
	movq	%rdx, %fs:(%rsi)		/* the parent, or a failed call */
	xorl	%ecx, %ecx
	cmpl	$2, %fs:(%r8)			/* the child called _exit (hook/proc.c) */
	cmovel	%eax, %ecx
	movq	evs_vfork_exited@GOTPCREL(%rip), %r9
	movl	%ecx, (%r9)			/* its pid, or 0 (rt/child.c) */
	movl	$0, %fs:(%r8)
1:	pushq	%rdi
	.cfi_adjust_cfa_offset 8
	.cfi_rel_offset rip, 0
	cmpq	$-4095, %rax
	jae	2f
	ret
2:	negl	%eax				/* -errno -> errno, -1 */
	pushq	%rax				/* keeps the stack 16-byte aligned for the call */
	.cfi_adjust_cfa_offset 8
	call	*__errno_location@GOTPCREL(%rip)
	popq	%rcx
	.cfi_adjust_cfa_offset -8
	movl	%ecx, (%rax)
	movq	$-1, %rax
	ret
	.cfi_endproc
	.size	vfork, .-vfork

	.section .note.GNU-stack,"",@progbits
