/* regs0 checks the register state Linux gives a new static program at _start:
 * rax, rbx, rcx, rdx, rsi, rdi, rbp and r8..r15 are zero (ELF_PLAT_INIT; rax is execve's 0),
 * rsp is 16-byte aligned and points at argc followed by argv[0..argc-1] and NULL,
 * MXCSR is 0x1f80, the x87 control word is 0x37f, the FS base is 0 and DF is clear.
 *
 * Exit status: 0 all good; 1..16 the register in the order saved below is not zero;
 * 20 rsp misaligned; 21 argc does not match argv; 22 MXCSR; 23 x87 control word;
 * 24 FS base; 25 DF set; 26 argc is zero.
 */
	.bss
	.balign	16
saved:	.skip	16*8
mxcsr:	.long	0
fcw:	.word	0
	.balign	8
fsbase:	.quad	0

	.text
	.globl _start
_start:
	mov	%rax, saved+0*8(%rip)
	mov	%rbx, saved+1*8(%rip)
	mov	%rcx, saved+2*8(%rip)
	mov	%rdx, saved+3*8(%rip)
	mov	%rsi, saved+4*8(%rip)
	mov	%rdi, saved+5*8(%rip)
	mov	%rbp, saved+6*8(%rip)
	mov	%r8, saved+7*8(%rip)
	mov	%r9, saved+8*8(%rip)
	mov	%r10, saved+9*8(%rip)
	mov	%r11, saved+10*8(%rip)
	mov	%r12, saved+11*8(%rip)
	mov	%r13, saved+12*8(%rip)
	mov	%r14, saved+13*8(%rip)
	mov	%r15, saved+14*8(%rip)
	pushfq
	popq	saved+15*8(%rip)
	stmxcsr	mxcsr(%rip)
	fnstcw	fcw(%rip)

	/* general registers: saved[0..14] must be zero */
	xor	%ecx, %ecx
1:	cmpq	$0, saved(,%rcx,8)
	jne	nonzero
	inc	%ecx
	cmp	$15, %ecx
	jne	1b

	/* DF clear */
	mov	$25, %edi
	btq	$10, saved+15*8(%rip)
	jc	exit

	/* alignment */
	mov	$20, %edi
	test	$15, %rsp
	jnz	exit

	/* argc == number of argv pointers before NULL */
	mov	(%rsp), %rax
	mov	$26, %edi
	test	%rax, %rax
	jz	exit
	xor	%ecx, %ecx
2:	cmpq	$0, 8(%rsp,%rcx,8)
	je	3f
	inc	%rcx
	cmp	$100000, %rcx
	jb	2b
3:	mov	$21, %edi
	cmp	%rax, %rcx
	jne	exit

	mov	$22, %edi
	cmpl	$0x1f80, mxcsr(%rip)
	jne	exit

	mov	$23, %edi
	cmpw	$0x37f, fcw(%rip)
	jne	exit

	/* arch_prctl(ARCH_GET_FS, &fsbase) */
	mov	$158, %eax
	mov	$0x1003, %edi
	lea	fsbase(%rip), %rsi
	syscall
	mov	$24, %edi
	test	%rax, %rax
	jnz	exit
	cmpq	$0, fsbase(%rip)
	jne	exit

	xor	%edi, %edi
	jmp	exit
nonzero:
	lea	1(%rcx), %edi
exit:
	mov	$231, %eax		/* exit_group */
	syscall
	hlt
