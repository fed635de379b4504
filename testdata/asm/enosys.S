/* enosys checks that unknown system call numbers return -ENOSYS (-38) in rax.
 * Exit status: 0 ok, 1 nr 1000, 2 nr 400 (a gap in the table), 3 nr 0x7fffffff, 4 the process cannot make a normal call after. */
	.text
	.globl _start
_start:
	mov	$1000, %eax
	syscall
	mov	$1, %edi
	cmp	$-38, %rax
	jne	fail

	mov	$400, %eax
	syscall
	mov	$2, %edi
	cmp	$-38, %rax
	jne	fail

	mov	$0x7fffffff, %eax
	syscall
	mov	$3, %edi
	cmp	$-38, %rax
	jne	fail

	mov	$39, %eax		/* getpid still works */
	syscall
	mov	$4, %edi
	test	%rax, %rax
	jle	fail

	xor	%edi, %edi
fail:
	mov	$231, %eax		/* exit_group */
	syscall
	hlt
