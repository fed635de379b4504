/* ldt checks segment descriptors as Linux gives them to a 64-bit program: the GDT's TLS
 * entries through set_thread_area and get_thread_area (the i386 calls, reached with
 * int $0x80; the x86-64 table has none), the LDT through modify_ldt, and what segment
 * loads of them do: reads through %gs, faults with the selector in the error code, 32-bit
 * code in an LDT code segment, per-thread TLS entries, fork and exec. Buffers are static,
 * below 4 GiB (the program is not position-independent), where 32-bit bases reach. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"

/* struct user_desc (asm/ldt.h), for x86-64. */
struct desc {
	unsigned int entry_number, base_addr, limit;
	unsigned int seg_32bit : 1, contents : 2, read_exec_only : 1, limit_in_pages : 1,
		seg_not_present : 1, useable : 1, lm : 1;
};

static long int80(long nr, long a)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a) : "memory");
	return r;
}

/* sys3 is a raw system call: modify_ldt's result is an unsigned int, so an error comes
 * back as 2^32-errno, which libc wrappers do not take for one. */
static unsigned long sys3(long nr, long a, long b, long c)
{
	unsigned long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}

/* The i386 calls see 32-bit pointers: the descriptor goes through a static copy, and
 * pointers that are not the program's own (NULL, bad ones) are passed as they are. */
static struct desc low_desc;
static pthread_mutex_t low_lock = PTHREAD_MUTEX_INITIALIZER;

static long area_call(long nr, struct desc *d)
{
	if ((uintptr_t)d >> 32 == 0)
		return int80(nr, (long)d);
	pthread_mutex_lock(&low_lock);
	low_desc = *d;
	long r = int80(nr, (long)&low_desc);
	*d = low_desc;
	pthread_mutex_unlock(&low_lock);
	return r;
}

static long set_area(struct desc *d) { return area_call(243, d); }
static long get_area(struct desc *d) { return area_call(244, d); }
static unsigned long ldt(int fn, void *p, unsigned long n) { return sys3(SYS_modify_ldt, fn, (long)p, n); }

static void show_ret(const char *what, long r)
{
	if (r < 0 && r > -4096)
		printf("%s: -%s\n", what, errname((int)-r));
	else if (r >= 0xfffff000L && r <= 0xffffffffL)
		printf("%s: 2^32-%s\n", what, errname((int)(0x100000000L - r)));
	else
		printf("%s: %ld\n", what, r);
}

static void show_desc(const char *what, const struct desc *d)
{
	printf("%s: entry %d base %s limit %#x 32bit %d contents %d roe %d pages %d np %d use %d lm %d\n",
	       what, (int)d->entry_number, d->base_addr ? "set" : "0", d->limit, d->seg_32bit, d->contents,
	       d->read_exec_only, d->limit_in_pages, d->seg_not_present, d->useable, d->lm);
}

static struct desc mk(int entry, void *base, unsigned limit, int contents)
{
	struct desc d;
	memset(&d, 0, sizeof d);
	d.entry_number = entry;
	d.base_addr = (unsigned)(uintptr_t)base;
	d.limit = limit;
	d.seg_32bit = 1;
	d.contents = contents;
	d.useable = 1;
	return d;
}

static sigjmp_buf jb;
static volatile int trying; /* the main thread is in TRY: a fault goes back there */
static char *fault_base;

static void on_fault(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	char where[48] = "0";
	if (si->si_addr != NULL && fault_base != NULL)
		snprintf(where, sizeof where, "base%+ld", (long)((char *)si->si_addr - fault_base));
	else if (si->si_addr != NULL)
		snprintf(where, sizeof where, "%#lx", (unsigned long)si->si_addr);
	printf("  signal %s code %#x addr %s err %#llx trap %lld\n", sig == SIGSEGV ? "SEGV" : sig == SIGBUS ? "BUS" : "other",
	       si->si_code, where, (unsigned long long)uc->uc_mcontext.gregs[REG_ERR],
	       (long long)uc->uc_mcontext.gregs[REG_TRAPNO]);
	if (!trying)
		_exit(3);
	siglongjmp(jb, 1);
}

#define TRY(name, body)                                  \
	do {                                             \
		printf("%s\n", name);                    \
		fflush(stdout);                          \
		trying = 1;                              \
		if (!sigsetjmp(jb, 1)) {                 \
			body;                            \
			printf("  no fault\n");          \
		}                                        \
		trying = 0;                              \
	} while (0)

static unsigned short sel_gs(void)
{
	unsigned short s;
	__asm__ volatile("mov %%gs, %0" : "=r"(s));
	return s;
}

static void load_gs(unsigned short s) { __asm__ volatile("mov %0, %%gs" ::"r"(s)); }
static void load_ds(unsigned short s) { __asm__ volatile("mov %0, %%ds" ::"r"(s)); }
static void load_ss(unsigned short s)
{
	__asm__ volatile("mov %%ss, %%ax; mov %0, %%ss; mov %%ax, %%ss" ::"r"(s) : "ax");
}

static char gs_byte(long off)
{
	char c;
	__asm__ volatile("movb %%gs:(%1), %0" : "=q"(c) : "r"(off) : "memory");
	return c;
}

static void reset_segments(void)
{
	load_gs(0);
	load_ds(0);
	__asm__ volatile("mov %0, %%es" ::"r"(0));
}

static char area[4][64] = {"tls entry zero", "second base", "third base", "fourth"};

static void thread_area(void)
{
	struct desc d = mk(-1, area[0], 63, 0);
	errno = 0;
	long r = syscall(SYS_set_thread_area, &d);
	expect_err("set_thread_area through syscall", r, ENOSYS);
	show_ret("set_thread_area -1", set_area(&d));
	printf("chosen entry: %d\n", (int)d.entry_number);
	struct desc g;
	memset(&g, 0, sizeof g);
	g.entry_number = d.entry_number;
	show_ret("get_thread_area", get_area(&g));
	show_desc("got", &g);
	expect("base round trip", g.base_addr == (unsigned)(uintptr_t)area[0]);
	unsigned short sel = (unsigned short)(d.entry_number << 3 | 3);
	load_gs(sel);
	printf("gs %#x reads \"%c%c%c\"\n", sel_gs(), gs_byte(0), gs_byte(1), gs_byte(4));
	/* Changing the entry reloads %gs, which holds it: the new base is seen at once. */
	d = mk(d.entry_number, area[1], 63, 0);
	show_ret("set_thread_area again", set_area(&d));
	printf("after the change gs reads \"%c%c%c\"\n", gs_byte(0), gs_byte(1), gs_byte(2));
	unsigned lim = 0, ok = 0, ar = 0;
	__asm__ volatile("lsl %2, %0; setz %b1" : "=r"(lim), "=q"(ok) : "r"((unsigned)sel));
	__asm__ volatile("lar %1, %0" : "=r"(ar) : "r"((unsigned)sel));
	printf("lsl %#x ok %d lar %#x\n", lim, ok & 1, ar & 0xffff00);
	/* Two more, then none is free. */
	struct desc e2 = mk(-1, area[2], 15, 0), e3 = mk(-1, area[3], 0xfffff, 1), e4 = mk(-1, area[3], 1, 0);
	e3.limit_in_pages = 1;
	show_ret("second -1", set_area(&e2));
	show_ret("third -1", set_area(&e3));
	printf("entries %d %d\n", (int)e2.entry_number, (int)e3.entry_number);
	show_ret("fourth -1", set_area(&e4));
	g.entry_number = e3.entry_number;
	get_area(&g);
	show_desc("expand-down in pages", &g);
	/* What Linux refuses in a TLS entry. */
	struct desc bad = mk(12, area[0], 15, 0);
	bad.seg_32bit = 0;
	show_ret("16-bit", set_area(&bad));
	bad = mk(12, area[0], 15, 2);
	show_ret("code", set_area(&bad));
	bad = mk(12, area[0], 15, 0);
	bad.seg_not_present = 1;
	show_ret("not present", set_area(&bad));
	for (int n = 0; n < 5; n++) {
		int idx[] = {11, 15, 0, 0x7fffffff, -2};
		bad = mk(idx[n], area[0], 15, 0);
		char what[32];
		snprintf(what, sizeof what, "set entry %d", idx[n]);
		show_ret(what, set_area(&bad));
		g.entry_number = idx[n];
		snprintf(what, sizeof what, "get entry %d", idx[n]);
		show_ret(what, get_area(&g));
	}
	show_ret("set NULL", set_area(NULL));
	show_ret("get NULL", get_area(NULL));
	show_ret("set at the top of memory", set_area((struct desc *)0xfffff000UL));
	/* Clearing: LDT_zero (all zero but the number) and LDT_empty. */
	struct desc z;
	memset(&z, 0, sizeof z);
	z.entry_number = e2.entry_number;
	show_ret("zero clears", set_area(&z));
	g.entry_number = e2.entry_number;
	get_area(&g);
	show_desc("cleared", &g);
	memset(&z, 0, sizeof z);
	z.entry_number = d.entry_number;
	z.read_exec_only = 1;
	z.seg_not_present = 1;
	show_ret("empty clears while gs holds it", set_area(&z));
	printf("gs now %#x\n", sel_gs());
	fault_base = NULL;
	TRY("load the cleared entry", load_gs(sel));
	TRY("load entry 11", load_gs(11 << 3 | 3));
	TRY("load past the GDT", load_gs(16 << 3 | 3));
	TRY("load the TSS", load_gs(8 << 3 | 3));
	TRY("load kernel data", load_ds(3 << 3 | 3));
	TRY("load user data with RPL 0", load_ds(0x28));
	TRY("ss 0", load_ss(0));
	TRY("ss user data", load_ss(0x2b));
	reset_segments();
}

/* 32-bit code for an LDT code segment: it adds through the data in ebx's segment and
 * returns with a 32-bit far return. */
__asm__(".pushsection .text\n"
	".code32\n"
	"code32: movl $0x32, %eax\n"
	"  addl %ds:(%ebx), %eax\n"
	"  lret\n"
	".code64\n"
	".popsection\n");
extern char code32[];

/* The stack for 32-bit code, below 4 GiB, with room for a signal frame. */
#define LOW_STACK 65536
static char *low_stack;

/* far_call32 calls code32 through sel with a stack below 4 GiB and flat ds and es, as
 * 32-bit code needs (a null ds faults there). */
static long far_call32(unsigned short sel, int *arg)
{
	struct {
		uint32_t off;
		uint16_t sel;
	} __attribute__((packed)) target = {(uint32_t)(uintptr_t)code32, sel};
	long r;
	char *top = low_stack + LOW_STACK;
	__asm__ volatile("mov %%rsp, %%r12\n"
			 "mov %2, %%rsp\n"
			 "mov $0x2b, %%ecx\n"
			 "mov %%ecx, %%ds\n"
			 "mov %%ecx, %%es\n"
			 "lcall *(%1)\n"
			 "xor %%ecx, %%ecx\n"
			 "mov %%ecx, %%ds\n"
			 "mov %%ecx, %%es\n"
			 "mov %%r12, %%rsp\n"
			 : "=a"(r)
			 : "r"(&target), "r"(top), "b"(arg)
			 : "rcx", "r12", "memory");
	return r;
}

static int code_arg = 0x100;

static void ldt_calls(void)
{
	static char big[70000];
	show_ret("read without an LDT", ldt(0, big, 64));
	show_ret("default read 200", ldt(2, big, 200));
	expect("default read is zeros", big[0] == 0 && big[127] == 0);
	show_ret("func 3", ldt(3, big, 16));
	show_ret("func -1", ldt(-1, big, 16));
	struct desc d = mk(0, area[0], 63, 0);
	show_ret("write 15 bytes", ldt(0x11, &d, 15));
	show_ret("write 17 bytes", ldt(0x11, &d, 17));
	show_ret("write NULL", ldt(0x11, NULL, 16));
	show_ret("write entry 0", ldt(0x11, &d, 16));
	d = mk(1, area[1], 63, 0);
	d.seg_not_present = 1;
	show_ret("write 1 not present", ldt(0x11, &d, 16));
	d = mk(2, 0, 0xfffff, 2);
	d.limit_in_pages = 1;
	show_ret("write 2 32-bit code", ldt(0x11, &d, 16));
	d = mk(3, 0, 0xfffff, 3);
	show_ret("conforming present", ldt(0x11, &d, 16));
	d.seg_not_present = 1;
	show_ret("conforming not present", ldt(0x11, &d, 16));
	show_ret("conforming old mode", ldt(1, &d, 16));
	d = mk(4, 0, 0xfffff, 2);
	d.lm = 1;
	d.seg_32bit = 0;
	d.limit_in_pages = 1;
	show_ret("write 4 64-bit code", ldt(0x11, &d, 16));
	d = mk(5, 0, 0xfffff, 2);
	d.read_exec_only = 1;
	show_ret("write 5 execute-only", ldt(0x11, &d, 16));
	d = mk(6, area[2], 0xffff, 0);
	d.seg_32bit = 0;
	show_ret("write 6 16-bit data", ldt(1, &d, 16));
	d = mk(7, area[2], 0, 0);
	d.base_addr = 0;
	show_ret("old mode zero base and limit", ldt(1, &d, 16));
	d = mk(8191, area[3], 63, 0);
	show_ret("write 8191", ldt(0x11, &d, 16));
	d.entry_number = 8192;
	show_ret("write 8192", ldt(0x11, &d, 16));
	d.entry_number = 0xffffffff;
	show_ret("write -1", ldt(0x11, &d, 16));
	memset(big, 0x55, sizeof big);
	show_ret("read 70000", ldt(0, big, 70000));
	expect("8192 entries, then zeros", big[8191 * 8 + 1] != 0x55 && big[65536] == 0x55 &&
						   (big[8191 * 8 + 5] & 0xff) == 0xf3);
	unsigned long long e[8];
	memset(big, 0x55, 64);
	show_ret("read 13", ldt(0, big, 13));
	printf("byte 13 untouched: %s\n", big[13] == 0x55 ? "yes" : "NO");
	show_ret("read 0", ldt(0, big, 0));
	show_ret("read NULL", ldt(0, NULL, 16));
	show_ret("read NULL 0", ldt(0, NULL, 0));
	ldt(0, e, sizeof e);
	for (int i = 0; i < 8; i++)
		printf("ldt[%d] %s attributes %#llx\n", i, e[i] ? "set" : "0", (e[i] >> 40) & 0xf0ff);
	/* Loads. */
	fault_base = NULL;
	TRY("gs = LDT 0", {
		load_gs(0 << 3 | 7);
		printf("  reads \"%c%c\" and past the limit \"%c\"\n", gs_byte(0), gs_byte(1), gs_byte(64 + 1));
	});
	TRY("gs = LDT 0 with RPL 0", {
		load_gs(0 << 3 | 4);
		printf("  gs %#x reads '%c'\n", sel_gs(), gs_byte(0));
	});
	TRY("gs = LDT 1, not present", load_gs(1 << 3 | 7));
	TRY("ss = LDT 1, not present", load_ss(1 << 3 | 7));
	TRY("ss = LDT 0", load_ss(0 << 3 | 7));
	TRY("ss = LDT 2, code", load_ss(2 << 3 | 7));
	TRY("ds = LDT 2, readable code", load_ds(2 << 3 | 7));
	TRY("ds = LDT 5, execute-only", load_ds(5 << 3 | 7));
	TRY("ds = LDT 7, cleared", load_ds(7 << 3 | 7));
	TRY("gs = LDT 9, never written", load_gs(9 << 3 | 7));
	TRY("gs = LDT 8191", {
		load_gs(8191 << 3 | 7);
		printf("  reads '%c'\n", gs_byte(0));
	});
	reset_segments();
	/* A write changes ds at once when it holds an LDT selector (Linux refreshes ds and es). */
	load_ds(0 << 3 | 7);
	d = mk(0, area[1], 63, 0);
	d.seg_not_present = 1;
	show_ret("entry 0 made not present while ds holds it", ldt(0x11, &d, 16));
	unsigned short ds;
	__asm__ volatile("mov %%ds, %0" : "=r"(ds));
	printf("ds now %#x\n", ds);
	reset_segments();
	d = mk(0, area[0], 63, 0);
	ldt(0x11, &d, 16);
	/* 32-bit code. */
	low_stack = mmap(NULL, LOW_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	TRY("far call to 32-bit code in LDT 2", printf("  returned %#lx\n", far_call32(2 << 3 | 7, &code_arg)));
	TRY("far call to the 32-bit user code segment", printf("  returned %#lx\n", far_call32(0x23, &code_arg)));
	TRY("far call to LDT 3, not present", far_call32(3 << 3 | 7, &code_arg));
	TRY("far call to LDT 9, never written", far_call32(9 << 3 | 7, &code_arg));
	TRY("far call to kernel code", far_call32(2 << 3 | 3, &code_arg));
	TRY("far call to a data segment", far_call32(0 << 3 | 7, &code_arg));
	TRY("iretq to the user code segment", {
		__asm__ volatile("mov %%ss, %%eax; push %%rax; push %%rsp; addq $8, (%%rsp); pushfq;"
				 "push $0x33; lea 1f(%%rip), %%rax; push %%rax; iretq; 1:" ::: "rax", "memory");
	});
	TRY("lret to kernel code", {
		__asm__ volatile("push $0x13; lea 1f(%%rip), %%rax; push %%rax; lretq; 1:" ::: "rax", "memory");
	});
	/* The descriptor tables are nowhere a program can read. */
	TRY("read at 0xfffffe0000000000", (void)*(volatile char *)0xfffffe0000000000UL);
	TRY("lgs from 0xfffffe0000000000", {
		__asm__ volatile("lgs (%0), %%ax" ::"r"(0xfffffe0000000000UL) : "ax");
	});
	reset_segments();
}

/* Threads each with their own TLS entry 12, loaded again and again while they switch. */
static pthread_barrier_t bar;

static void *tls_thread(void *arg)
{
	int n = (int)(intptr_t)arg;
	struct desc d = mk(12, area[n], 63, 0);
	long r = set_area(&d);
	pthread_barrier_wait(&bar);
	long bad = r != 0;
	for (int i = 0; i < 20000; i++) {
		load_gs(12 << 3 | 3);
		if (gs_byte(0) != area[n][0] || gs_byte(3) != area[n][3])
			bad++;
		if (i % 1000 == 0)
			sched_yield();
	}
	load_gs(0);
	return (void *)bad;
}

static void threads(void)
{
	pthread_t th[4];
	pthread_barrier_init(&bar, NULL, 4);
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, tls_thread, (void *)(intptr_t)i);
	long bad = 0;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(th[i], &r);
		bad += (long)r;
	}
	expect("each thread reads its own TLS entry", bad == 0);
	struct desc g;
	memset(&g, 0, sizeof g);
	g.entry_number = 12;
	get_area(&g);
	show_desc("main thread's entry 12 after the threads", &g);
}

/* Random descriptors through modify_ldt, each followed by lar, lsl, verr, verw and loads
 * of gs, ds and ss with a random LDT selector: one line of results each. */
static void random_ldt(void)
{
	unsigned seed = 7;
	for (int i = 0; i < 200; i++) {
		struct desc d;
		unsigned flags = rand_r(&seed) & 0xff;
		memset(&d, 0, sizeof d);
		memcpy((char *)&d + 12, &flags, sizeof flags);
		d.entry_number = rand_r(&seed) % 8;
		d.base_addr = rand_r(&seed) & 1 ? 0 : (unsigned)(uintptr_t)area[0];
		d.limit = rand_r(&seed) & 1 ? 0xfffff : rand_r(&seed) % 256;
		int fn = rand_r(&seed) & 1 ? 1 : 0x11;
		unsigned short sel = (unsigned short)((rand_r(&seed) % 10) << 3 | 4 | (rand_r(&seed) & 3));
		printf("%d: write %d func %#x flags %#x: ", i, (int)d.entry_number, fn, flags);
		show_ret("", (long)ldt(fn, &d, sizeof d));
		unsigned ar = 0, lim = 0;
		unsigned char okar = 0, oklim = 0, r = 0, w = 0;
		__asm__ volatile("lar %2, %0; setz %1" : "=r"(ar), "=q"(okar) : "r"((unsigned)sel));
		__asm__ volatile("lsl %2, %0; setz %1" : "=r"(lim), "=q"(oklim) : "r"((unsigned)sel));
		__asm__ volatile("verr %w1; setz %0" : "=q"(r) : "r"(sel));
		__asm__ volatile("verw %w1; setz %0" : "=q"(w) : "r"(sel));
		printf("  %#x: lar %d %#x lsl %d %#x verr %d verw %d;", sel, okar, okar ? ar & 0xf0ff00 : 0, oklim,
		       oklim ? lim : 0, r, w);
		TRY(" gs", load_gs(sel));
		TRY(" ds", load_ds(sel));
		TRY(" ss", load_ss(sel));
		reset_segments();
	}
}

/* A tracer reads and writes a stopped tracee's TLS entries. */
static void traced(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		raise(SIGSTOP);
		struct desc g;
		memset(&g, 0, sizeof g);
		g.entry_number = 14;
		get_area(&g);
		show_desc("tracee's entry 14, set by its tracer", &g);
		load_gs(14 << 3 | 3);
		printf("tracee gs reads '%c'\n", gs_byte(0));
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	struct desc g;
	memset(&g, 0x7f, sizeof g);
	show_ret("PTRACE_GET_THREAD_AREA 13", ptrace(PTRACE_GET_THREAD_AREA, pid, (void *)13, &g) ? -errno : 0);
	show_desc("tracee's entry 13", &g);
	show_ret("PTRACE_GET_THREAD_AREA 11", ptrace(PTRACE_GET_THREAD_AREA, pid, (void *)11, &g) ? -errno : 0);
	show_ret("PTRACE_GET_THREAD_AREA -1", ptrace(PTRACE_GET_THREAD_AREA, pid, (void *)-1L, &g) ? -errno : 0);
	show_ret("PTRACE_GET_THREAD_AREA to NULL", ptrace(PTRACE_GET_THREAD_AREA, pid, (void *)12, NULL) ? -errno : 0);
	struct desc d = mk(0, area[1], 63, 0);
	show_ret("PTRACE_SET_THREAD_AREA 14", ptrace(PTRACE_SET_THREAD_AREA, pid, (void *)14, &d) ? -errno : 0);
	d.seg_32bit = 0;
	show_ret("PTRACE_SET_THREAD_AREA 16-bit", ptrace(PTRACE_SET_THREAD_AREA, pid, (void *)13, &d) ? -errno : 0);
	show_ret("PTRACE_SET_THREAD_AREA from NULL", ptrace(PTRACE_SET_THREAD_AREA, pid, (void *)13, NULL) ? -errno : 0);
	ptrace(PTRACE_DETACH, pid, NULL, NULL);
	waitpid(pid, &st, 0);
	printf("tracee status %d\n", WEXITSTATUS(st));
}

/* GDT entry 15's limit is the CPU number (and node), which lsl reads as getcpu does. */
static void cpu_entry(void)
{
	for (int c = 0; c < 2; c++) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(c, &set);
		if (sched_setaffinity(0, sizeof set, &set) != 0)
			continue;
		unsigned lim = 0;
		__asm__ volatile("lsl %1, %0" : "=r"(lim) : "r"(15u << 3 | 3));
		printf("on CPU %d lsl of 0x7b says CPU %u, getcpu %d\n", c, lim & 0xfff, sched_getcpu());
	}
}

static void fork_exec(const char *self)
{
	struct desc d0 = mk(0, area[0], 63, 0);
	ldt(0x11, &d0, sizeof d0);
	load_gs(0 << 3 | 7);
	pid_t pid = fork();
	if (pid == 0) {
		printf("child gs %#x\n", sel_gs());
		unsigned long long e[2] = {0};
		long n = (long)ldt(0, e, sizeof e);
		printf("child reads %ld bytes of LDT, entry 0 %s\n", n, e[0] ? "set" : "0");
		load_gs(0 << 3 | 7);
		printf("child gs reads '%c'\n", gs_byte(0));
		struct desc g;
		memset(&g, 0, sizeof g);
		g.entry_number = 13;
		get_area(&g);
		show_desc("child's entry 13", &g);
		fflush(stdout);
		execl(self, self, "exec", (char *)NULL);
		_exit(99);
	}
	load_gs(0);
	int st;
	waitpid(pid, &st, 0);
	printf("child status %d\n", WEXITSTATUS(st));
}

static void after_exec(void)
{
	unsigned long long e[2] = {1, 1};
	long n = (long)ldt(0, e, sizeof e);
	printf("after exec: LDT read %ld, %s\n", n, e[0] == 1 ? "untouched" : "written");
	struct desc g;
	memset(&g, 0, sizeof g);
	g.entry_number = 13;
	get_area(&g);
	show_desc("after exec: entry 13", &g);
	fault_base = NULL;
	TRY("after exec: gs = LDT 0", load_gs(0 << 3 | 7));
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	if (argc > 1 && strcmp(argv[1], "exec") == 0) {
		after_exec();
		return failures;
	}
	if ((uintptr_t)area >> 32 != 0) {
		printf("skipped: the program's data is above 4 GiB\n");
		return 0;
	}
	thread_area();
	ldt_calls();
	threads();
	cpu_entry();
	random_ldt();
	struct desc d = mk(13, area[2], 63, 0);
	set_area(&d);
	traced();
	fork_exec(argv[0]);
	return failures;
}
