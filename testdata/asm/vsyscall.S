/* vsyscall calls the three legacy vsyscall entry points and checks their results.
 * Exit status: 0 ok; 1 gettimeofday failed; 2 tv_sec before 2020; 3 tv_usec out of range;
 * 4 time() disagrees with gettimeofday by more than 2s; 5 time(&t) stored something else;
 * 6 getcpu failed; 7 getcpu cpu number implausible; 8 a callee-saved register changed.
 */
	.set	GTOD, 0xffffffffff600000
	.set	TIME, 0xffffffffff600400
	.set	GETCPU, 0xffffffffff600800

	.text
	.globl _start
_start:
	sub	$64, %rsp		/* 0: timeval, 16: time_t, 24: cpu, 28: node */
	movabs	$0x1234567812345678, %rbx
	movabs	$0x0badcafe0badcafe, %r12

	lea	0(%rsp), %rdi
	xor	%esi, %esi
	movabs	$GTOD, %rax
	call	*%rax
	mov	$1, %edi
	test	%rax, %rax
	jnz	exit
	mov	$2, %edi
	cmpq	$1577836800, 0(%rsp)
	jl	exit
	mov	$3, %edi
	cmpq	$1000000, 8(%rsp)
	jae	exit

	movq	$-1, 16(%rsp)
	lea	16(%rsp), %rdi
	movabs	$TIME, %rax
	call	*%rax
	mov	$5, %edi
	cmp	16(%rsp), %rax
	jne	exit
	sub	0(%rsp), %rax
	mov	$4, %edi
	cmp	$2, %rax
	ja	exit			/* unsigned: also catches a negative difference */

	movl	$-1, 24(%rsp)
	movl	$-1, 28(%rsp)
	lea	24(%rsp), %rdi
	lea	28(%rsp), %rsi
	xor	%edx, %edx
	movabs	$GETCPU, %rax
	call	*%rax
	mov	$6, %edi
	test	%rax, %rax
	jnz	exit
	mov	$7, %edi
	cmpl	$4096, 24(%rsp)
	jae	exit

	mov	$8, %edi
	movabs	$0x1234567812345678, %rax
	cmp	%rax, %rbx
	jne	exit
	movabs	$0x0badcafe0badcafe, %rax
	cmp	%rax, %r12
	jne	exit

	xor	%edi, %edi
exit:
	mov	$231, %eax		/* exit_group */
	syscall
	hlt
