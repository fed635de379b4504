/* priv runs instructions that user mode may not execute (privileged, I/O, int N) under a
 * SIGSEGV handler, and prints what each raised: Linux answers a general protection fault
 * with SIGSEGV, si_code SI_KERNEL, si_addr 0, trap 13, and resumes after the handler. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

#include "check.h"

static sigjmp_buf env;
static int *volatile nullp;
static volatile int zero, thousand = 1000, sink;
static volatile int got_sig, got_code, got_trapno, got_err, at_insn;
static void *volatile got_addr;
static volatile uintptr_t insn_addr;

static void on_fault(int sig, siginfo_t *si, void *uc_)
{
	ucontext_t *uc = uc_;
	got_sig = sig;
	got_code = si->si_code;
	got_addr = si->si_addr;
	got_trapno = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
	got_err = (int)uc->uc_mcontext.gregs[REG_ERR];
	at_insn = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP] == insn_addr;
	siglongjmp(env, 1);
}

/* Each case is a function whose first instruction is the one tested, so that the handler
 * can check that rip points at it. */
#define CASE(name, asmtext)                                                                \
	extern char name[];                                                                \
	__asm__(".text\n.type " #name ",@function\n" #name ":\n\t" asmtext "\n\tret\n");
CASE(do_hlt, "hlt")
CASE(do_cli, "cli")
CASE(do_sti, "sti")
CASE(do_inb, "inb $0x80, %al")
CASE(do_outb, "outb %al, $0x80")
CASE(do_inl_dx, "mov $0x3f8, %dx\n\tinl %dx, %eax")
CASE(do_outsb, "mov $0x3f8, %dx\n\tlea do_outsb(%rip), %rsi\n\toutsb")
CASE(do_rd_cr0, "mov %cr0, %rax")
CASE(do_wr_cr3, "xor %eax, %eax\n\tmov %rax, %cr3")
CASE(do_rd_cr4, "mov %cr4, %rax")
CASE(do_wr_cr8, "xor %eax, %eax\n\tmov %rax, %cr8")
CASE(do_rd_dr7, "mov %db7, %rax")
CASE(do_wr_dr7, "mov $0x401, %eax\n\tmov %rax, %db7")
CASE(do_wr_dr0, "lea do_wr_dr0(%rip), %rax\n\tmov %rax, %db0")
CASE(do_rdmsr, "mov $0xc0000080, %ecx\n\trdmsr")
CASE(do_wrmsr, "mov $0xc0000100, %ecx\n\txor %eax, %eax\n\txor %edx, %edx\n\twrmsr")
CASE(do_lgdt, "lgdt (%rsp)")
CASE(do_lidt, "lidt (%rsp)")
CASE(do_ltr, "xor %eax, %eax\n\tltr %ax")
CASE(do_lldt, "xor %eax, %eax\n\tlldt %ax")
CASE(do_invlpg, "invlpg (%rsp)")
CASE(do_wbinvd, "wbinvd")
CASE(do_invd, "invd")
CASE(do_clts, "clts")
CASE(do_lmsw, "xor %eax, %eax\n\tlmsw %ax")
CASE(do_swapgs, "swapgs")
CASE(do_sysret, "sysretq")
CASE(do_int_0d, "int $0x0d")
CASE(do_int_41, "int $0x41")

struct insn {
	const char *name;
	void (*fn)(void);
	int after; /* rip is after a two-byte int N, not at the instruction */
	int err;   /* the error code Linux reports */
};

#define ENTRY(n) {#n, (void (*)(void))do_##n, 0, 0}

static const struct insn insns[] = {
	ENTRY(hlt), ENTRY(cli), ENTRY(sti), ENTRY(inb), ENTRY(outb), ENTRY(inl_dx), ENTRY(outsb),
	ENTRY(rd_cr0), ENTRY(wr_cr3), ENTRY(rd_cr4), ENTRY(wr_cr8), ENTRY(rd_dr7), ENTRY(wr_dr7),
	ENTRY(wr_dr0), ENTRY(rdmsr), ENTRY(wrmsr), ENTRY(lgdt), ENTRY(lidt), ENTRY(ltr), ENTRY(lldt),
	ENTRY(invlpg), ENTRY(wbinvd), ENTRY(invd), ENTRY(clts), ENTRY(lmsw), ENTRY(swapgs),
	ENTRY(sysret),
	{"int_0d", (void (*)(void))do_int_0d, 0, 0x0d * 8 + 2},
	{"int_41", (void (*)(void))do_int_41, 0, 0x41 * 8 + 2},
};

/* first_insn returns the address of the instruction a case tests: the last one before ret
 * for cases that set up registers first. */
static uintptr_t first_insn(const struct insn *in)
{
	const unsigned char *p = (const unsigned char *)in->fn;
	/* Skip the set-up instructions the cases use, by their encodings. */
	for (;;) {
		if (p[0] == 0x66 && p[1] == 0xba) /* mov $imm16, %dx */
			p += 4;
		else if (p[0] == 0x48 && p[1] == 0x8d && p[2] == 0x35) /* lea x(%rip), %rsi */
			p += 7;
		else if (p[0] == 0x48 && p[1] == 0x8d && p[2] == 0x05) /* lea x(%rip), %rax */
			p += 7;
		else if (p[0] == 0xb8 || p[0] == 0xb9) /* mov $imm32, %eax/%ecx */
			p += 5;
		else if (p[0] == 0x31 && (p[1] == 0xc0 || p[1] == 0xd2)) /* xor %eax/%edx */
			p += 2;
		else
			break;
	}
	return (uintptr_t)p;
}

static const char *signame(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SEGV";
	case SIGILL: return "ILL";
	case SIGBUS: return "BUS";
	case SIGFPE: return "FPE";
	}
	return "?";
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (size_t i = 0; i < sizeof insns / sizeof insns[0]; i++) {
		const struct insn *in = &insns[i];
		insn_addr = first_insn(in);
		got_sig = 0;
		if (sigsetjmp(env, 1) == 0) {
			in->fn();
			printf("%s: ran\n", in->name);
			failures++;
			continue;
		}
		printf("%s: %s code=%#x addr=%p trap=%d err=%#x at-insn=%s\n", in->name,
		       signame(got_sig), got_code, got_addr,
		       got_trapno, got_err, at_insn ? "yes" : "no");
		if (got_sig != SIGSEGV || got_code != SI_KERNEL || got_addr != 0 || got_trapno != 13 ||
		    got_err != in->err || !at_insn)
			failures++;
	}
	/* Faults in a row, each caught: every one is delivered as itself (a CPU that kept
	 * the last exception in flight would turn the second into a double fault). */
	sigaction(SIGFPE, &sa, NULL);
	for (int round = 0; round < 3; round++) {
		static const char *const names[] = {"null", "div", "hlt", "cli"};
		for (int k = 0; k < 4; k++) {
			got_sig = 0;
			if (sigsetjmp(env, 1) == 0) {
				switch (k) {
				case 0: sink = *(volatile int *)nullp; break;
				case 1: sink = thousand / zero; break;
				case 2: ((void (*)(void))do_hlt)(); break;
				case 3: ((void (*)(void))do_cli)(); break;
				}
				printf("again %s: ran\n", names[k]);
				failures++;
				continue;
			}
			int want = k == 1 ? SIGFPE : SIGSEGV;
			if (round == 0 || got_sig != want)
				printf("again %s: %s code=%#x trap=%d\n", names[k], signame(got_sig), got_code,
				       got_trapno);
			if (got_sig != want)
				failures++;
		}
	}

	/* The process goes on normally after all of them. */
	volatile long x = 6;
	printf("after: %ld\n", x * 7);
	return failures != 0;
}
