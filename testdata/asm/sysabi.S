/* sysabi checks the SYSCALL ABI as Linux implements it on x86-64:
 * rax holds the result; rcx holds the address of the instruction after SYSCALL; r11 holds
 * RFLAGS as it was at the SYSCALL (RF clear, bit 1 set); every other register is preserved;
 * RFLAGS after the call equals RFLAGS before it. A -errno result comes back in rax.
 *
 * Exit status: 0 all good; 1 rcx; 2 r11 != flags; 3 r11 bit 1 clear; 4 r11 has RF;
 * 5 flags changed across the call; 6 getpid result not positive; 7 close(-1) not -EBADF;
 * 8 rsp changed; 10..20 a preserved register changed (see the order below).
 */
	.set	V_RBX, 0x1111111111111111
	.set	V_RBP, 0x2222222222222222
	.set	V_R12, 0x3333333333333333
	.set	V_R13, 0x4444444444444444
	.set	V_R14, 0x5555555555555555
	.set	V_R15, 0x6666666666666666
	.set	V_RDI, 0x7777777777777777
	.set	V_RSI, 0x0123456789abcdef
	.set	V_RDX, 0x0fedcba987654321
	.set	V_R8,  0x1badb002deadbeef
	.set	V_R9,  0x0000000100000001
	.set	V_R10, 0x8000000000000008

	.bss
	.balign	8
flags_before:	.quad 0
flags_after:	.quad 0
rsp_before:	.quad 0

	.text
	.globl _start
_start:
	/* First call: getpid, with CF set so the flags have something to show. */
	movabs	$V_RBX, %rbx
	movabs	$V_RBP, %rbp
	movabs	$V_R12, %r12
	movabs	$V_R13, %r13
	movabs	$V_R14, %r14
	movabs	$V_R15, %r15
	movabs	$V_RDI, %rdi
	movabs	$V_RSI, %rsi
	movabs	$V_RDX, %rdx
	movabs	$V_R8, %r8
	movabs	$V_R9, %r9
	movabs	$V_R10, %r10
	mov	%rsp, rsp_before(%rip)
	stc
	pushfq
	popq	flags_before(%rip)	/* pop to memory: flags unchanged */
	mov	$39, %eax		/* getpid */
	mov	$-1, %rcx
	mov	$-1, %r11
	syscall
after_syscall:
	pushfq
	popq	flags_after(%rip)

	/* rsp, then rdi (the status register from here on) before anything writes it */
	cmp	rsp_before(%rip), %rsp
	jne	bad_rsp
	push	%rax
	movabs	$V_RDI, %rax
	cmp	%rax, %rdi
	mov	$16, %edi
	jne	fail

	/* the other preserved registers, checked through rax (saved on the stack) */
	movabs	$V_RBX, %rax
	mov	$10, %edi
	cmp	%rax, %rbx
	jne	fail
	movabs	$V_RBP, %rax
	mov	$11, %edi
	cmp	%rax, %rbp
	jne	fail
	movabs	$V_R12, %rax
	mov	$12, %edi
	cmp	%rax, %r12
	jne	fail
	movabs	$V_R13, %rax
	mov	$13, %edi
	cmp	%rax, %r13
	jne	fail
	movabs	$V_R14, %rax
	mov	$14, %edi
	cmp	%rax, %r14
	jne	fail
	movabs	$V_R15, %rax
	mov	$15, %edi
	cmp	%rax, %r15
	jne	fail
	movabs	$V_RSI, %rax
	mov	$17, %edi
	cmp	%rax, %rsi
	jne	fail
	movabs	$V_RDX, %rax
	mov	$18, %edi
	cmp	%rax, %rdx
	jne	fail
	movabs	$V_R8, %rax
	mov	$19, %edi
	cmp	%rax, %r8
	jne	fail
	movabs	$V_R9, %rax
	mov	$20, %edi
	cmp	%rax, %r9
	jne	fail
	movabs	$V_R10, %rax
	mov	$21, %edi
	cmp	%rax, %r10
	jne	fail
	pop	%rax

	/* the result */
	mov	$6, %edi
	test	%rax, %rax
	jle	fail_keep

	/* rcx: the return address */
	lea	after_syscall(%rip), %rax
	mov	$1, %edi
	cmp	%rax, %rcx
	jne	fail_keep

	/* r11: the flags at the SYSCALL */
	mov	$3, %edi
	bt	$1, %r11
	jnc	fail_keep
	mov	$4, %edi
	bt	$16, %r11
	jc	fail_keep
	mov	$2, %edi
	cmp	flags_before(%rip), %r11
	jne	fail_keep

	/* flags restored after the call */
	mov	flags_before(%rip), %rax
	mov	$5, %edi
	cmp	flags_after(%rip), %rax
	jne	fail_keep

	/* a failing call: close(-1) returns -EBADF (-9) in rax */
	mov	$3, %eax		/* close */
	mov	$-1, %rdi
	syscall
	mov	$7, %edi
	cmp	$-9, %rax
	jne	fail_keep

	xor	%edi, %edi
	jmp	fail_keep
bad_rsp:
	mov	$8, %edi
	jmp	fail_keep
fail:
	pop	%rax
fail_keep:
	mov	$231, %eax		/* exit_group */
	syscall
	hlt
