/* classes.c: makes every x86-64 system call number once, with a seccomp filter that
 * answers ENOSYS before any of them runs, so that a tracer's -e trace=%CLASS shows which
 * numbers belong to a class. Run natively only (under strace); argv[1] and argv[2] are
 * the first number to try and the one after the last. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAGIC 0x5ec1a55e5ec1a55eULL

struct insn {
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};

struct prog {
	unsigned short len;
	struct insn *filter;
};

/* BPF opcodes and seccomp values, as in linux/filter.h and linux/seccomp.h. */
#define LD_W_ABS 0x20
#define JEQ_K 0x15
#define RET_K 0x06
#define ARCH_X86_64 0xc000003eU
#define RET_ALLOW 0x7fff0000U
#define RET_ERRNO 0x00050000U
#define ENOSYS_NR 38

int main(int argc, char **argv)
{
	long first = argc > 1 ? atol(argv[1]) : 0, end = argc > 2 ? atol(argv[2]) : 0;
	struct insn f[] = {
		{LD_W_ABS, 0, 0, 4},                       /* arch */
		{JEQ_K, 0, 5, ARCH_X86_64},
		{LD_W_ABS, 0, 0, 16 + 5 * 8},              /* args[5], low half */
		{JEQ_K, 0, 3, (uint32_t)MAGIC},
		{LD_W_ABS, 0, 0, 16 + 5 * 8 + 4},          /* args[5], high half */
		{JEQ_K, 0, 1, (uint32_t)(MAGIC >> 32)},
		{RET_K, 0, 0, RET_ERRNO | ENOSYS_NR},
		{RET_K, 0, 0, RET_ALLOW},
	};
	struct prog p = {sizeof f / sizeof f[0], f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    prctl(PR_SET_SECCOMP, 2 /* SECCOMP_MODE_FILTER */, &p, 0, 0) != 0) {
		perror("seccomp");
		return 1;
	}
	for (long nr = first; nr < end; nr++) {
		/* uretprobe (335) passes seccomp by and raises SIGILL unless called from its
		 * trampoline. */
		if (nr != 335)
			syscall(nr, 0, 0, 0, 0, 0, MAGIC);
	}
	/* The last argument register may still hold MAGIC: leave with it cleared. */
	syscall(SYS_exit_group, 0, 0, 0, 0, 0, 0);
	return 0;
}
