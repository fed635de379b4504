/* segv CASE: faults that a SIGSEGV handler sees and survives. The handler prints what it
   sees: the faulting instruction relative to a label on it, the fault address relative to
   the page it falls in, and the registers the instruction used; then it either jumps out
   or makes the page accessible and returns, so that the instruction runs again. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define PAGE 4096

/* walk(p, n) sums the n longs at p. Each round of its loop is one block that ends with a
   branch back to itself; the load follows a compare in the same block, so the handler
   sees flags set by an instruction of the faulting block. */
long walk(const long *p, long n);
extern const char walk_load[];
__asm__(".text\n"
	".globl walk\n"
	"walk:\n"
	"	xor %eax, %eax\n"
	"	xor %ecx, %ecx\n"
	"1:	add $1, %rcx\n"
	"	cmp %rsi, %rcx\n"
	".globl walk_load\n"
	"walk_load:\n"
	"	mov -8(%rdi,%rcx,8), %rdx\n"
	"	add %rdx, %rax\n"
	"	cmp %rsi, %rcx\n"
	"	jb 1b\n"
	"	ret\n");

/* bump(p, n) adds i to p[i-1] for i = 1..n and returns the sum of the i: a store that
   faults after instructions of its block have changed rcx, rax and the flags. */
long bump(long *p, long n);
extern const char bump_store[];
__asm__(".globl bump\n"
	"bump:\n"
	"	xor %eax, %eax\n"
	"	xor %ecx, %ecx\n"
	"1:	add $1, %rcx\n"
	"	add %rcx, %rax\n"
	".globl bump_store\n"
	"bump_store:\n"
	"	add %rcx, -8(%rdi,%rcx,8)\n"
	"	cmp %rsi, %rcx\n"
	"	jb 1b\n"
	"	ret\n");

/* load8(p) reads 8 bytes at p, which need not be aligned. */
long load8(const void *p);
extern const char load8_insn[];
__asm__(".globl load8\n"
	"load8:\n"
	".globl load8_insn\n"
	"load8_insn:\n"
	"	mov (%rdi), %rax\n"
	"	ret\n");

/* copy(dst, src, n) is rep movsb; fill(dst, n) is rep stosq of a pattern. */
void copy(void *dst, const void *src, size_t n);
void fill(void *dst, size_t n);
extern const char copy_insn[], fill_insn[];
__asm__(".globl copy\n"
	"copy:\n"
	"	mov %rdx, %rcx\n"
	".globl copy_insn\n"
	"copy_insn:\n"
	"	rep movsb\n"
	"	ret\n"
	".globl fill\n"
	"fill:\n"
	"	mov %rsi, %rcx\n"
	"	mov $0x0123456789abcdef, %rax\n"
	".globl fill_insn\n"
	"fill_insn:\n"
	"	rep stosq\n"
	"	ret\n");

/* stack_push, stack_call and stack_pushm run "push %rax", "call" and "push (%rdx)" with
   rsp = their first argument (rdx is stack_pushm's third). */
void stack_push(void *sp);
void stack_call(void *sp);
void stack_pushm(void *sp, void *unused, const void *src);
extern const char push_insn[], call_insn[], pushm_insn[];
__asm__(".globl stack_push\n"
	"stack_push:\n"
	"	mov %rsp, %r11\n"
	"	mov %rdi, %rsp\n"
	".globl push_insn\n"
	"push_insn:\n"
	"	push %rax\n"
	"	mov %r11, %rsp\n"
	"	ret\n"
	".globl stack_call\n"
	"stack_call:\n"
	"	mov %rsp, %r11\n"
	"	mov %rdi, %rsp\n"
	".globl call_insn\n"
	"call_insn:\n"
	"	call 1f\n"
	"1:	mov %r11, %rsp\n"
	"	ret\n"
	".globl stack_pushm\n"
	"stack_pushm:\n"
	"	mov %rsp, %r11\n"
	"	mov %rdi, %rsp\n"
	".globl pushm_insn\n"
	"pushm_insn:\n"
	"	pushq (%rdx)\n"
	"	mov %r11, %rsp\n"
	"	ret\n");

/* movsq_one(dst, src) is one movsq. */
void movsq_one(void *dst, const void *src);
extern const char movsq_insn[];
__asm__(".globl movsq_one\n"
	"movsq_one:\n"
	".globl movsq_insn\n"
	"movsq_insn:\n"
	"	movsq\n"
	"	ret\n");

static char *area; /* pages: 0 and 1 read-write, 2 read-only, 3 inaccessible */
static char *ro;   /* area + 2 pages */
static char *bad;  /* area + 3 pages */

/* READABLE is the number of longs that can be read from the start of the area. */
#define READABLE (3 * PAGE / 8)
static sigjmp_buf jump;
static volatile int resume; /* the handler makes the page writable and returns */
static volatile int faults;

struct seen {
	uintptr_t rip, addr, rcx, rdi, rsi, rax, flags, err, fullerr, trapno;
	int code;
} seen;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	(void)sig;
	faults++;
	seen.rip = uc->uc_mcontext.gregs[REG_RIP];
	seen.addr = (uintptr_t)si->si_addr;
	seen.code = si->si_code;
	seen.rcx = uc->uc_mcontext.gregs[REG_RCX];
	seen.rdi = uc->uc_mcontext.gregs[REG_RDI];
	seen.rsi = uc->uc_mcontext.gregs[REG_RSI];
	seen.rax = uc->uc_mcontext.gregs[REG_RAX];
	/* carry, parity, adjust, zero, sign, overflow */
	seen.flags = uc->uc_mcontext.gregs[REG_EFL] & 0x8d5;
	/* The page fault's error code: of its bits only write (2) and fetch (16) do not
	   depend on the state of the page tables. */
	seen.err = uc->uc_mcontext.gregs[REG_ERR] & 0x12;
	seen.fullerr = uc->uc_mcontext.gregs[REG_ERR];
	seen.trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
	if (resume) {
		mprotect(bad, PAGE, PROT_READ | PROT_WRITE);
		mprotect(ro, PAGE, PROT_READ | PROT_WRITE);
		return;
	}
	siglongjmp(jump, 1);
}

/* where names an address relative to the pages of the area, or to the stack pointer. */
static void where(char *buf, size_t n, uintptr_t a)
{
	if (a >= (uintptr_t)area && a < (uintptr_t)area + 4 * PAGE)
		snprintf(buf, n, "page%d+%lu", (int)((a - (uintptr_t)area) / PAGE),
			 (unsigned long)((a - (uintptr_t)area) % PAGE));
	else
		snprintf(buf, n, "outside");
}

static void report(const char *what, const char *label)
{
	char addr[64];
	where(addr, sizeof addr, seen.addr);
	printf("%s: rip %+ld from label, addr %s, code %d, error %#lx\n", what,
	       (long)(seen.rip - (uintptr_t)label), addr, seen.code, (unsigned long)seen.err);
}

static void protect(void)
{
	if (mprotect(bad, PAGE, PROT_NONE) != 0 || mprotect(ro, PAGE, PROT_READ) != 0) {
		perror("mprotect");
		exit(1);
	}
}

static long *longs(void)
{
	long *a = (long *)area;
	for (long i = 0; i < 2 * PAGE / 8; i++)
		a[i] = i;
	return a;
}

/* A loop that reaches walk's fault through many blocks chained before it: earlier rounds
   stay in bounds; then each round goes one long further into the inaccessible page. */
static void case_loop(void)
{
	long *a = longs();
	long total = 0;
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 300; i++)
			total += walk(a + (i % 7), 100 + i % 13);
		long n = READABLE + 1 + round;
		if (sigsetjmp(jump, 1) == 0) {
			total += walk(a, n);
			printf("no fault\n");
		} else {
			report("loop", walk_load);
			printf("loop: index %ld, sum so far %ld, flags %#lx\n", (long)seen.rcx - 1,
			       (long)seen.rax, (unsigned long)seen.flags);
		}
	}
	printf("loop: total %ld, faults %d\n", total, faults);
}

/* The handler makes the page accessible and returns: the load runs again and the walk
   finishes as if nothing had happened. */
static void case_resume(void)
{
	long *a = longs();
	resume = 1;
	long total = 0;
	for (int i = 0; i < 1000; i++)
		total += walk(a + (i % 5), 200);
	total += walk(a, READABLE + 10);
	report("resume", walk_load);
	printf("resume: index %ld, flags %#lx, total %ld, faults %d\n", (long)seen.rcx - 1,
	       (unsigned long)seen.flags, total, faults);
	protect();
	total = walk(a + 1, READABLE + 10);
	printf("resume: again, total %ld, faults %d\n", total, faults);
	protect();
	long n = bump(a, 2 * PAGE / 8 + 100);
	report("bump", bump_store);
	printf("resume: bump %ld, flags %#lx, sum %ld, faults %d\n", n, (unsigned long)seen.flags,
	       walk(a, 2 * PAGE / 8 + 100), faults);
}

static void case_cross(void)
{
	if (sigsetjmp(jump, 1) == 0) {
		load8(bad - 4);
		printf("no fault\n");
	} else {
		report("cross", load8_insn);
	}
	if (sigsetjmp(jump, 1) == 0) {
		load8(bad + 100);
		printf("no fault\n");
	} else {
		report("inside", load8_insn);
	}
	if (sigsetjmp(jump, 1) == 0) {
		load8((void *)16);
		printf("no fault\n");
	} else {
		report("null", load8_insn);
		printf("null: addr %#lx\n", (unsigned long)seen.addr);
	}
}

static unsigned sum(const char *p, size_t n)
{
	unsigned s = 0;
	for (size_t i = 0; i < n; i++)
		s = s * 31 + (unsigned char)p[i];
	return s;
}

static void case_rep(void)
{
	char *src = area;
	for (int i = 0; i < PAGE; i++)
		src[i] = (char)(i * 7);
	if (sigsetjmp(jump, 1) == 0) {
		copy(ro - 100, src, 300);
		printf("no fault\n");
	} else {
		char d[64], s[64];
		report("movsb-write", copy_insn);
		where(d, sizeof d, seen.rdi);
		where(s, sizeof s, seen.rsi);
		printf("movsb-write: rcx %lu, rdi %s, rsi %s\n", (unsigned long)seen.rcx, d, s);
	}
	if (sigsetjmp(jump, 1) == 0) {
		copy(area + PAGE, bad - 40, 300);
		printf("no fault\n");
	} else {
		char d[64], s[64];
		report("movsb-read", copy_insn);
		where(d, sizeof d, seen.rdi);
		where(s, sizeof s, seen.rsi);
		printf("movsb-read: rcx %lu, rdi %s, rsi %s\n", (unsigned long)seen.rcx, d, s);
	}
	if (sigsetjmp(jump, 1) == 0) {
		fill(ro - 64, 20);
		printf("no fault\n");
	} else {
		char d[64];
		report("stosq", fill_insn);
		where(d, sizeof d, seen.rdi);
		printf("stosq: rcx %lu, rdi %s\n", (unsigned long)seen.rcx, d);
	}
	/* Now let the handler open the pages and return: the copies finish. */
	resume = 1;
	copy(ro - 100, src, 300);
	fill(bad - 64, 20);
	printf("rep: resumed, sums %u %u, faults %d\n", sum(ro - 100, 300), sum(bad - 64, 160), faults);
}

static void case_stack(void)
{
	if (sigsetjmp(jump, 1) == 0) {
		stack_push(bad + PAGE);
		printf("no fault\n");
	} else {
		report("push", push_insn);
	}
	if (sigsetjmp(jump, 1) == 0) {
		stack_call(ro + 8);
		printf("no fault\n");
	} else {
		report("call", call_insn);
	}
	/* push of memory: the load of the operand, then the store to the stack */
	if (sigsetjmp(jump, 1) == 0) {
		stack_pushm(area + PAGE, 0, bad + 24);
		printf("no fault\n");
	} else {
		report("pushm-load", pushm_insn);
	}
	if (sigsetjmp(jump, 1) == 0) {
		stack_pushm(ro + 16, 0, area + 8);
		printf("no fault\n");
	} else {
		report("pushm-store", pushm_insn);
	}
	if (sigsetjmp(jump, 1) == 0) {
		movsq_one(area, bad + 8);
		printf("no fault\n");
	} else {
		report("movsq-load", movsq_insn);
	}
	if (sigsetjmp(jump, 1) == 0) {
		movsq_one(ro + 32, area);
		printf("no fault\n");
	} else {
		report("movsq-store", movsq_insn);
	}
}

/* A fault inside the handler of another signal: jumped out of, then resumed. */
static void on_usr1(int sig)
{
	(void)sig;
	long *a = longs();
	long total = walk(a, READABLE + 3);
	printf("usr1: total %ld\n", total);
}

static void case_nested(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	if (sigsetjmp(jump, 1) == 0) {
		raise(SIGUSR1);
		printf("no fault\n");
	} else {
		report("nested", walk_load);
		sigset_t cur;
		sigprocmask(SIG_SETMASK, NULL, &cur);
		printf("nested: usr1 blocked after the jump: %d\n", sigismember(&cur, SIGUSR1));
	}
	resume = 1;
	raise(SIGUSR1);
	report("nested-resume", walk_load);
	printf("nested: faults %d\n", faults);
}

/* A fault in the vDSO: clock_gettime writes its result to an inaccessible page. */
static void case_vdso(void)
{
	uintptr_t vdso = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	if (sigsetjmp(jump, 1) == 0) {
		clock_gettime(CLOCK_MONOTONIC, (struct timespec *)bad);
		printf("no fault\n");
	} else {
		char addr[64];
		where(addr, sizeof addr, seen.addr);
		printf("vdso: addr %s, code %d, rip in the vdso %d\n", addr, seen.code,
		       vdso != 0 && seen.rip >= vdso && seen.rip < vdso + 4 * PAGE);
	}
}

/* Fetches: a call to a page without execute permission, and code that runs off the end
   of its page onto one it may not execute: the instructions before the one that crosses
   run, and the fault names that one and the first byte of the next page. */
static void case_fetch(void)
{
	if (sigsetjmp(jump, 1) == 0) {
		((void (*)(void))area)();
		printf("no fault\n");
	} else {
		report("fetch-data", area);
	}
	if (sigsetjmp(jump, 1) == 0) {
		((void (*)(void))(bad + 64))();
		printf("no fault\n");
	} else {
		report("fetch-none", bad + 64);
	}
	char *code = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	/* mov $1,%eax; inc %rax; mov $0x12345678,%ebx (its immediate on the next page); ret */
	static const unsigned char insns[] = {0xb8, 1, 0, 0, 0, 0x48, 0xff, 0xc0, 0xbb, 0x78, 0x56, 0x34, 0x12, 0xc3};
	char *start = code + PAGE - 10;
	memcpy(start, insns, sizeof insns);
	if (mprotect(code + PAGE, PAGE, PROT_READ) != 0) {
		perror("mprotect");
		exit(1);
	}
	if (sigsetjmp(jump, 1) == 0) {
		((void (*)(void))start)();
		printf("no fault\n");
	} else {
		report("fetch-across", start + 8);
		printf("fetch-across: addr - page %ld, rax %ld\n", (long)(seen.addr - (uintptr_t)(code + PAGE)),
		       (long)seen.rax);
	}
}

/* Code that ran, then lost execute permission: a call to it must fault at its first
   instruction (the code translated from it must not run again), and run again once the
   permission is back. Then a page made writable and rewritten runs its new code. */
static void case_noexec(void)
{
	unsigned char *code = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	/* mov $7,%eax; ret, on each page */
	static const unsigned char insns[] = {0xb8, 7, 0, 0, 0, 0xc3};
	memcpy(code, insns, sizeof insns);
	memcpy(code + PAGE, insns, sizeof insns);
	int (*f)(void) = (int (*)(void))code, (*g)(void) = (int (*)(void))(code + PAGE);
	printf("noexec: first call %d %d\n", f(), g());
	if (mprotect(code, PAGE, PROT_READ) != 0) {
		perror("mprotect");
		exit(1);
	}
	for (int i = 0; i < 2; i++) {
		if (sigsetjmp(jump, 1) == 0) {
			printf("no fault: %d\n", f());
		} else {
			printf("noexec: rip %+ld from code, addr %+ld from code, code %d, error %#lx\n",
			       (long)(seen.rip - (uintptr_t)code), (long)(seen.addr - (uintptr_t)code), seen.code,
			       (unsigned long)seen.err);
		}
	}
	printf("noexec: the next page still runs %d\n", g());
	if (mprotect(code, PAGE, PROT_READ | PROT_WRITE) != 0) {
		perror("mprotect");
		exit(1);
	}
	code[1] = 9;
	if (mprotect(code, PAGE, PROT_READ | PROT_EXEC) != 0) {
		perror("mprotect");
		exit(1);
	}
	printf("noexec: rewritten %d\n", f());
	if (sigsetjmp(jump, 1) == 0) {
		code[1] = 11;
		printf("no fault\n");
	} else {
		printf("noexec: store to code: addr %+ld from code, code %d, error %#lx\n",
		       (long)(seen.addr - (uintptr_t)code), seen.code, (unsigned long)seen.err);
	}
	munmap(code, 2 * PAGE);
	if (sigsetjmp(jump, 1) == 0) {
		printf("no fault: %d\n", g());
	} else {
		printf("noexec: unmapped: rip %+ld from code, code %d\n", (long)(seen.rip - (uintptr_t)code),
		       seen.code);
	}
}

/* Every other page of a mapping made read-only, one mprotect each: a store to each of
   them faults at its exact address (SEGV_ACCERR), stores to the others succeed; a page
   unmapped in the middle faults as unmapped (SEGV_MAPERR) and a new mapping there works. */
static void case_alternate(void)
{
	enum { N = 64 };
	char *p = mmap(NULL, N * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	for (int i = 0; i < N; i++)
		p[i * PAGE] = (char)i; /* every page in the TLB as writable */
	for (int i = 0; i < N; i += 2)
		if (mprotect(p + i * PAGE, PAGE, PROT_READ) != 0) {
			perror("mprotect");
			exit(1);
		}
	int ok = 0, accerr = 0, wrong = 0;
	for (int i = 0; i < N; i++) {
		volatile char *q = p + i * PAGE + 100 + i;
		if (sigsetjmp(jump, 1) == 0) {
			*q = 1;
			ok += i % 2 == 1;
			wrong += i % 2 == 0;
		} else if (i % 2 == 0 && seen.addr == (uintptr_t)q && seen.code == SEGV_ACCERR) {
			accerr++;
		} else {
			wrong++;
		}
	}
	long sum = 0;
	for (int i = 0; i < N; i += 2)
		sum += p[i * PAGE]; /* still readable, contents kept */
	printf("alternate: %d stores, %d protection faults, %d wrong, sum %ld\n", ok, accerr, wrong, sum);
	if (mprotect(p, N * PAGE, PROT_READ | PROT_WRITE) != 0 || munmap(p + 10 * PAGE, PAGE) != 0) {
		perror("mprotect/munmap");
		exit(1);
	}
	p[9 * PAGE] = p[11 * PAGE] = 1;
	if (sigsetjmp(jump, 1) == 0) {
		p[10 * PAGE + 5] = 1;
		printf("no fault\n");
	} else {
		printf("alternate: hole: addr %+ld from it, code %d\n", (long)(seen.addr - (uintptr_t)(p + 10 * PAGE)),
		       seen.code);
	}
	char *n = mmap(p + 10 * PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (n != p + 10 * PAGE) {
		perror("mmap");
		exit(1);
	}
	n[5] = 42;
	p[12 * PAGE] = 3;
	printf("alternate: new page %d, neighbours %d %d %d\n", n[5], p[9 * PAGE], p[11 * PAGE], p[12 * PAGE]);
	munmap(p, N * PAGE);
}

/* Loads from the kernel's half of the address space (a page fault that Linux reports as
   a protection fault) and from a non-canonical address (a general protection fault, with
   no address). */
static void case_kernel(void)
{
	static const uintptr_t addrs[] = {0xffff800000000000UL, 0xffffffff81000000UL, 0x8000000000000000UL,
					  0x0000800000000000UL};
	for (int i = 0; i < 4; i++) {
		if (sigsetjmp(jump, 1) == 0) {
			load8((void *)addrs[i]);
			printf("no fault\n");
		} else {
			report("kernel", load8_insn);
			printf("kernel: %#lx: addr %#lx, trap %lu, error %#lx\n", (unsigned long)addrs[i],
			       (unsigned long)seen.addr, (unsigned long)seen.trapno, (unsigned long)seen.fullerr);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: segv loop|resume|cross|rep|stack|nested|vdso|fetch|kernel\n");
		return 2;
	}
	area = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	ro = area + 2 * PAGE;
	bad = area + 3 * PAGE;
	protect();
	static char altstack[65536];
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
	sigaltstack(&ss, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigaction(SIGSEGV, &sa, NULL);

	const char *c = argv[1];
	if (strcmp(c, "loop") == 0)
		case_loop();
	else if (strcmp(c, "resume") == 0)
		case_resume();
	else if (strcmp(c, "cross") == 0)
		case_cross();
	else if (strcmp(c, "rep") == 0)
		case_rep();
	else if (strcmp(c, "stack") == 0)
		case_stack();
	else if (strcmp(c, "nested") == 0)
		case_nested();
	else if (strcmp(c, "vdso") == 0)
		case_vdso();
	else if (strcmp(c, "fetch") == 0)
		case_fetch();
	else if (strcmp(c, "kernel") == 0)
		case_kernel();
	else if (strcmp(c, "noexec") == 0)
		case_noexec();
	else if (strcmp(c, "alternate") == 0)
		case_alternate();
	else {
		fprintf(stderr, "segv: unknown case %s\n", c);
		return 2;
	}
	return 0;
}
