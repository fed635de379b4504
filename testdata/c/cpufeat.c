/* cpufeat.c: the CPU features a program can see, and whether each works.
 *
 * Each feature has a snippet: a few instructions that read 64 bytes of input at rdi and write
 * 64 bytes of results at rsi. Without arguments, the program prints one line per feature:
 * what CPUID, __builtin_cpu_supports (where GCC knows the name), AT_HWCAP and /proc/cpuinfo
 * say, and the snippet's results over a few inputs, or SIGILL. A test holds these lines to
 * the rule that a feature the CPU advertises works as natively and any other faults.
 *
 * With "dump", it prints each snippet's machine code and its native results instead, for
 * a test that runs the same bytes on the emulated CPU alone. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

/* SNIP defines a snippet: code from snip_NAME to snip_NAME_end, then a ret. The bytes in
 * between are position independent and end without a ret, so that another harness can
 * append its own. Snippets may clobber only the registers a C call may clobber. */
#define SNIP(name, body)                                                                      \
	extern const unsigned char snip_##name[], snip_##name##_end[];                        \
	__asm__(".pushsection .text\n.p2align 4\nsnip_" #name ":\n" body "\nsnip_" #name      \
		"_end:\nret\n.popsection\n");

/* FLAGS stores the flags selected by mask (those the instructions define) at out+off. */
#define FLAGS(mask, off) "pushfq\npop %rax\nand $" #mask ",%rax\nmov %rax," #off "(%rsi)\n"

SNIP(fpu, "fldl (%rdi)\nfabs\nfsqrt\nfldl 8(%rdi)\nfmulp\nfstpl (%rsi)\n"
	  "fildl 16(%rdi)\nfistpl 8(%rsi)\n")
SNIP(tsc, "rdtsc\nshl $32,%rdx\nor %rax,%rdx\nmov %rdx,%rcx\nrdtsc\nshl $32,%rdx\nor %rax,%rdx\n"
	  "cmp %rcx,%rdx\nsetae (%rsi)\ntest %rcx,%rcx\nsetne 1(%rsi)\n")
SNIP(cx8, "mov (%rdi),%rax\nmov %rax,(%rsi)\nmov 8(%rdi),%eax\nmov 12(%rdi),%edx\n"
	  "mov 16(%rdi),%ecx\nmov %ebx,%r8d\nmov 20(%rdi),%ebx\ncmpxchg8b (%rsi)\nmov %r8d,%ebx\n"
	  "mov %eax,8(%rsi)\nmov %edx,12(%rsi)\n" FLAGS(0x40, 16))
SNIP(cmov, "mov (%rdi),%rax\nmov 8(%rdi),%rcx\ncmp 16(%rdi),%rax\ncmovb %rcx,%rax\n"
	   "cmovg 24(%rdi),%rcx\nmov %rax,(%rsi)\nmov %rcx,8(%rsi)\n")
SNIP(clflush, "clflush (%rdi)\nmov (%rdi),%rax\nmov %rax,(%rsi)\n")
SNIP(mmx, "movq (%rdi),%mm0\nmovq 8(%rdi),%mm1\npaddb %mm1,%mm0\npmullw %mm1,%mm0\n"
	  "psrlq $3,%mm0\nmovq %mm0,(%rsi)\npunpckhbw %mm1,%mm1\nmovq %mm1,8(%rsi)\nemms\n")
SNIP(fxsr, "mov %rsp,%r8\nsub $512,%rsp\nand $-16,%rsp\nmovdqu (%rdi),%xmm3\nfxsave (%rsp)\n"
	   "movdqu 16(%rdi),%xmm3\nfxrstor (%rsp)\nmovdqu %xmm3,(%rsi)\nmov %r8,%rsp\n")
SNIP(sse, "movups (%rdi),%xmm0\nmovups 16(%rdi),%xmm1\nandps %xmm1,%xmm0\nshufps $0x1b,%xmm1,%xmm0\n"
	  "movups %xmm0,(%rsi)\nmovups 32(%rdi),%xmm2\nmaxps %xmm1,%xmm2\nmovups %xmm2,16(%rsi)\n")
SNIP(sse2, "movdqu (%rdi),%xmm0\nmovdqu 16(%rdi),%xmm1\npaddq %xmm1,%xmm0\npmuludq %xmm1,%xmm0\n"
	   "psadbw %xmm1,%xmm0\nmovdqu %xmm0,(%rsi)\nmovdqu 32(%rdi),%xmm2\npcmpeqb %xmm1,%xmm2\n"
	   "pmovmskb %xmm2,%eax\nmov %eax,16(%rsi)\n")
SNIP(pni, "movdqu (%rdi),%xmm0\nmovdqu 16(%rdi),%xmm1\nhaddpd %xmm1,%xmm0\naddsubps %xmm1,%xmm1\n"
	  "movddup 32(%rdi),%xmm2\nlddqu 40(%rdi),%xmm3\nmovdqu %xmm0,(%rsi)\nmovdqu %xmm1,16(%rsi)\n"
	  "movdqu %xmm2,32(%rsi)\nmovdqu %xmm3,48(%rsi)\n")
SNIP(pclmulqdq, "movdqu (%rdi),%xmm0\nmovdqu 16(%rdi),%xmm1\nmovdqa %xmm0,%xmm2\n"
		"pclmulqdq $0x00,%xmm1,%xmm0\npclmulqdq $0x11,%xmm1,%xmm2\nmovdqu %xmm0,(%rsi)\n"
		"movdqu %xmm2,16(%rsi)\nmovdqu 32(%rdi),%xmm3\npclmulqdq $0x10,%xmm1,%xmm3\n"
		"movdqu %xmm3,32(%rsi)\n")
SNIP(ssse3, "movdqu (%rdi),%xmm0\nmovdqu 16(%rdi),%xmm1\nmovdqa %xmm0,%xmm2\npshufb %xmm1,%xmm0\n"
	    "movdqu %xmm0,(%rsi)\nphaddw %xmm1,%xmm2\npabsb %xmm2,%xmm2\nmovdqu %xmm2,16(%rsi)\n"
	    "movdqu 32(%rdi),%xmm3\npalignr $5,%xmm1,%xmm3\npmaddubsw %xmm1,%xmm3\nmovdqu %xmm3,32(%rsi)\n")
SNIP(cx16, "mov %rbx,%r8\nmovdqu (%rdi),%xmm0\nmovdqu %xmm0,(%rsi)\nmov 16(%rdi),%rax\n"
	   "mov 24(%rdi),%rdx\nmov 32(%rdi),%rbx\nmov 40(%rdi),%rcx\ntestb $1,48(%rdi)\njz 1f\n"
	   "mov (%rdi),%rax\nmov 8(%rdi),%rdx\n1:\ncmpxchg16b (%rsi)\nmov %r8,%rbx\n"
	   "mov %rax,16(%rsi)\nmov %rdx,24(%rsi)\n" FLAGS(0x40, 32))
SNIP(sse4_1, "movdqu (%rdi),%xmm0\nmovdqu 16(%rdi),%xmm1\npmulld %xmm1,%xmm0\npminsd %xmm1,%xmm0\n"
	     "movdqu %xmm0,(%rsi)\nmovdqu 32(%rdi),%xmm2\npblendw $0x5a,%xmm1,%xmm2\npinsrd $2,48(%rdi),%xmm2\n"
	     "movdqu %xmm2,16(%rsi)\npextrq $1,%xmm1,%rax\nmov %rax,32(%rsi)\nptest %xmm1,%xmm2\n"
	     FLAGS(0x41, 40) "pmovzxbw %xmm1,%xmm3\nmovdqu %xmm3,48(%rsi)\n")
SNIP(sse4_2, "mov (%rdi),%rax\ncrc32q 8(%rdi),%rax\ncrc32b 16(%rdi),%eax\ncrc32w 18(%rdi),%eax\n"
	     "mov %rax,(%rsi)\nmovdqu 16(%rdi),%xmm1\nmovdqu 32(%rdi),%xmm2\npcmpistri $0x0c,%xmm2,%xmm1\n"
	     "mov %ecx,8(%rsi)\n" FLAGS(0x8c1, 16) "pcmpgtq %xmm2,%xmm1\nmovdqu %xmm1,24(%rsi)\n")
SNIP(movbe, "movbe (%rdi),%rax\nmov %rax,(%rsi)\nmov 8(%rdi),%ecx\nmovbe %ecx,8(%rsi)\n"
	    "movbe 16(%rdi),%dx\nmov %dx,12(%rsi)\n")
SNIP(popcnt, "popcnt (%rdi),%rax\nmov %rax,(%rsi)\npopcnt 8(%rdi),%ecx\nmov %rcx,8(%rsi)\n"
	     "popcnt 16(%rdi),%dx\nmov %dx,16(%rsi)\n" FLAGS(0x8d5, 24))
SNIP(aes, "movdqu (%rdi),%xmm0\nmovdqu 16(%rdi),%xmm1\nmovdqa %xmm0,%xmm2\naesenc %xmm1,%xmm0\n"
	  "aesenclast %xmm1,%xmm0\nmovdqu %xmm0,(%rsi)\naesdec %xmm1,%xmm2\naesdeclast %xmm1,%xmm2\n"
	  "movdqu %xmm2,16(%rsi)\naesimc %xmm1,%xmm3\nmovdqu %xmm3,32(%rsi)\n"
	  "aeskeygenassist $0x1b,%xmm1,%xmm3\nmovdqu %xmm3,48(%rsi)\n")
SNIP(rdrand, "rdrand %rax\nsetc (%rsi)\nrdrand %ecx\nrdrand %dx\n")
SNIP(fsgsbase, "rdgsbase %rcx\nmov (%rdi),%rax\nshr $17,%rax\nwrgsbase %rax\nrdgsbase %rdx\n"
	       "wrgsbase %rcx\nmov %rdx,(%rsi)\nmov %rcx,8(%rsi)\n")
SNIP(bmi1, "mov (%rdi),%rax\nandn 8(%rdi),%rax,%rcx\nmov %rcx,(%rsi)\nmov 16(%rdi),%ecx\n"
	   "bextr %rcx,%rax,%rdx\nmov %rdx,8(%rsi)\nblsi %rax,%rdx\nmov %rdx,16(%rsi)\n"
	   "blsmsk %rax,%rdx\nmov %rdx,24(%rsi)\nblsr %rax,%rdx\nmov %rdx,32(%rsi)\n"
	   "tzcnt %rax,%rdx\nmov %rdx,40(%rsi)\n" FLAGS(0x41, 48) "tzcnt 24(%rdi),%cx\nmov %cx,56(%rsi)\n")
SNIP(bmi2, "mov (%rdi),%rax\nmov 8(%rdi),%rcx\nbzhi %rcx,%rax,%rdx\nmov %rdx,(%rsi)\n"
	   "pdep %rcx,%rax,%rdx\nmov %rdx,8(%rsi)\npext %rcx,%rax,%rdx\nmov %rdx,16(%rsi)\n"
	   "rorx $13,%rax,%rdx\nmov %rdx,24(%rsi)\nsarx %rcx,%rax,%rdx\nmov %rdx,32(%rsi)\n"
	   "shlx %ecx,%eax,%edx\nmov %edx,40(%rsi)\nmov 16(%rdi),%rdx\nmulx %rax,%r8,%r9\n"
	   "mov %r8,48(%rsi)\nmov %r9,56(%rsi)\n")
SNIP(adx, "mov (%rdi),%rax\nmov 8(%rdi),%rcx\nmov 16(%rdi),%rdx\nmov 24(%rdi),%r8\n"
	  "cmp %rdx,%r8\nadcx %rcx,%rax\nadox %rdx,%r8\nadcx %rax,%rdx\nmov %rax,(%rsi)\n"
	  "mov %r8,8(%rsi)\nmov %rdx,16(%rsi)\n" FLAGS(0x801, 24))
SNIP(clflushopt, "clflushopt (%rdi)\nmov 8(%rdi),%rax\nmov %rax,(%rsi)\n")
SNIP(clwb, "clwb (%rdi)\nmov 8(%rdi),%rax\nmov %rax,(%rsi)\n")
SNIP(erms, "mov %rdi,%r8\nmov %rsi,%rdi\nmov %r8,%rsi\nmovzbl (%rsi),%ecx\nand $63,%ecx\nrep movsb\n")
SNIP(lahf_lm, "mov (%rdi),%rax\nadd 8(%rdi),%rax\nlahf\nmov %ah,(%rsi)\nmov 16(%rdi),%ah\nsahf\n" FLAGS(0xd5, 8))
SNIP(abm, "lzcnt (%rdi),%rax\nmov %rax,(%rsi)\n" FLAGS(0x41, 8) "lzcnt 8(%rdi),%ecx\nmov %ecx,16(%rsi)\n"
	  "mov $1,%edx\nlzcnt %rdx,%rdx\nmov %rdx,24(%rsi)\n")
SNIP(sse4a, "movdqu (%rdi),%xmm0\nextrq $12,$7,%xmm0\nmovdqu %xmm0,(%rsi)\nmovdqu 16(%rdi),%xmm1\n"
	    "movdqu 32(%rdi),%xmm2\ninsertq $20,$5,%xmm2,%xmm1\nmovdqu %xmm1,16(%rsi)\n")
SNIP(rdtscp, "rdtscp\nshl $32,%rdx\nor %rax,%rdx\nmov %rdx,%r8\nrdtscp\nshl $32,%rdx\nor %rax,%rdx\n"
	     "cmp %r8,%rdx\nsetae (%rsi)\n")
SNIP(mmxext, "movq (%rdi),%mm0\npshufw $0x1b,%mm0,%mm1\npminub 8(%rdi),%mm1\nmovq %mm1,(%rsi)\n"
	     "pmovmskb %mm0,%eax\nmov %eax,8(%rsi)\nemms\n")
/* Features no model offers, some of them the host's: they must fault under vemu. */
SNIP(avx, "vmovdqu (%rdi),%xmm0\nvaddps 16(%rdi),%xmm0,%xmm1\nvmovdqu %xmm1,(%rsi)\n")
SNIP(avx2, "vmovdqu (%rdi),%xmm0\nvpaddd 16(%rdi),%xmm0,%xmm1\nvpermq $0x1b,%ymm1,%ymm1\n"
	   "vmovdqu %xmm1,(%rsi)\nvzeroupper\n")
SNIP(fma, "vmovdqu (%rdi),%xmm0\nvmovdqu 16(%rdi),%xmm1\nvfmadd231ps 32(%rdi),%xmm1,%xmm0\n"
	  "vmovdqu %xmm0,(%rsi)\n")
SNIP(f16c, "vcvtph2ps (%rdi),%xmm0\nvmovdqu %xmm0,(%rsi)\n")
SNIP(sha_ni, "movdqu (%rdi),%xmm0\nmovdqu 16(%rdi),%xmm1\nsha1msg1 %xmm1,%xmm0\nmovdqu %xmm0,(%rsi)\n")
SNIP(rdseed, "rdseed %rax\nsetc (%rsi)\n")
SNIP(rdpid, "rdpid %rax\nmovb $1,(%rsi)\n")
SNIP(monitor, "mov %rdi,%rax\nxor %ecx,%ecx\nxor %edx,%edx\nmonitor\nmovb $1,(%rsi)\n")
SNIP(pku, "xor %ecx,%ecx\nrdpkru\nmov %eax,(%rsi)\n")
SNIP(xsave, "xor %ecx,%ecx\nxgetbv\nmov %eax,(%rsi)\n")
SNIP(gfni, "movdqu (%rdi),%xmm0\ngf2p8mulb 16(%rdi),%xmm0\nmovdqu %xmm0,(%rsi)\n")

/* The CPUID register a feature bit lives in. */
enum { EAX, EBX, ECX, EDX };

struct feature {
	const char *name;                 /* as in /proc/cpuinfo */
	const char *builtin;              /* __builtin_cpu_supports name, or NULL */
	unsigned leaf, sub, reg, bit;
	const unsigned char *code, *end;
};

#define F(n, b, l, s, r, bit) {#n, b, l, s, r, bit, snip_##n, snip_##n##_end}

/* builtin names are passed to __builtin_cpu_supports, which takes only literals: see
 * builtin_supports. */
static const struct feature features[] = {
	F(fpu, NULL, 1, 0, EDX, 0),
	F(tsc, NULL, 1, 0, EDX, 4),
	F(cx8, NULL, 1, 0, EDX, 8),
	F(cmov, "cmov", 1, 0, EDX, 15),
	F(clflush, NULL, 1, 0, EDX, 19),
	F(mmx, "mmx", 1, 0, EDX, 23),
	F(fxsr, NULL, 1, 0, EDX, 24),
	F(sse, "sse", 1, 0, EDX, 25),
	F(sse2, "sse2", 1, 0, EDX, 26),
	F(pni, "sse3", 1, 0, ECX, 0),
	F(pclmulqdq, "pclmul", 1, 0, ECX, 1),
	F(ssse3, "ssse3", 1, 0, ECX, 9),
	F(cx16, NULL, 1, 0, ECX, 13),
	F(sse4_1, "sse4.1", 1, 0, ECX, 19),
	F(sse4_2, "sse4.2", 1, 0, ECX, 20),
	F(movbe, NULL, 1, 0, ECX, 22),
	F(popcnt, "popcnt", 1, 0, ECX, 23),
	F(aes, "aes", 1, 0, ECX, 25),
	F(monitor, NULL, 1, 0, ECX, 3),
	F(xsave, NULL, 1, 0, ECX, 26),
	F(avx, "avx", 1, 0, ECX, 28),
	F(f16c, NULL, 1, 0, ECX, 29),
	F(rdrand, NULL, 1, 0, ECX, 30),
	F(fma, "fma", 1, 0, ECX, 12),
	F(fsgsbase, NULL, 7, 0, EBX, 0),
	F(bmi1, "bmi", 7, 0, EBX, 3),
	F(avx2, "avx2", 7, 0, EBX, 5),
	F(bmi2, "bmi2", 7, 0, EBX, 8),
	F(erms, NULL, 7, 0, EBX, 9),
	F(rdseed, NULL, 7, 0, EBX, 18),
	F(adx, NULL, 7, 0, EBX, 19),
	F(clflushopt, NULL, 7, 0, EBX, 23),
	F(clwb, NULL, 7, 0, EBX, 24),
	F(sha_ni, NULL, 7, 0, EBX, 29),
	F(gfni, NULL, 7, 0, ECX, 8),
	F(pku, NULL, 7, 0, ECX, 3),
	F(rdpid, NULL, 7, 0, ECX, 22),
	F(lahf_lm, NULL, 0x80000001, 0, ECX, 0),
	F(abm, NULL, 0x80000001, 0, ECX, 5),
	F(sse4a, "sse4a", 0x80000001, 0, ECX, 6),
	F(mmxext, NULL, 0x80000001, 0, EDX, 22),
	F(rdtscp, NULL, 0x80000001, 0, EDX, 27),
};

#define NFEAT (sizeof features / sizeof features[0])

/* feature returns the entry of the feature called name. */
static const struct feature *feature(const char *name)
{
	for (size_t i = 0; i < NFEAT; i++)
		if (strcmp(features[i].name, name) == 0)
			return &features[i];
	abort();
}

/* builtin_supports asks __builtin_cpu_supports, which needs a literal name. */
static int builtin_supports(const char *name)
{
#define B(s) if (strcmp(name, s) == 0) return __builtin_cpu_supports(s) != 0;
	B("cmov") B("mmx") B("sse") B("sse2") B("sse3") B("pclmul") B("ssse3") B("sse4.1")
	B("sse4.2") B("popcnt") B("aes") B("avx") B("fma") B("bmi") B("avx2") B("bmi2") B("sse4a")
#undef B
	return -1;
}

static int cpuid_has(const struct feature *f)
{
	unsigned r[4];
	unsigned max = __get_cpuid_max(f->leaf & 0x80000000, NULL);
	if (max < f->leaf)
		return 0;
	__cpuid_count(f->leaf, f->sub, r[EAX], r[EBX], r[ECX], r[EDX]);
	return (r[f->reg] >> f->bit) & 1;
}

static sigjmp_buf jump;
static volatile sig_atomic_t sigill;

static void on_sigill(int sig)
{
	(void)sig;
	sigill = 1;
	siglongjmp(jump, 1);
}

static unsigned char in[64] __attribute__((aligned(64)));
static unsigned char out[64] __attribute__((aligned(64)));

/* fill sets the input of run i: zeros, ones, small values, then pseudo-random bytes that
 * depend on i alone. */
static void fill(int i)
{
	uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
	for (int j = 0; j < 64; j++) {
		switch (i) {
		case 0: in[j] = 0; break;
		case 1: in[j] = 0xff; break;
		case 2: in[j] = j % 8 == 0 ? 1 : 0; break;
		default:
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			in[j] = (unsigned char)(x >> 24);
		}
	}
}

/* run calls a snippet on in and out; it returns 0, or -1 if it raised SIGILL. */
static int run(const struct feature *f)
{
	memset(out, 0, sizeof out);
	sigill = 0;
	if (sigsetjmp(jump, 1) == 0)
		((void (*)(const void *, void *))(uintptr_t)f->code)(in, out);
	return sigill ? -1 : 0;
}

/* The results that vary from run to run natively (time, random numbers) are reduced by the
 * snippets themselves to flags; the inputs are the same for every run. */
#define RUNS 6

static void hex(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
}

/* cpuinfo_flags returns the flags line of /proc/cpuinfo with a space at each end. */
static char *cpuinfo_flags(void)
{
	static char line[8192];
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f == NULL)
		return NULL;
	char buf[8192];
	line[0] = 0;
	while (fgets(buf, sizeof buf, f) != NULL) {
		if (strncmp(buf, "flags", 5) == 0) {
			char *colon = strchr(buf, ':');
			if (colon != NULL) {
				buf[strcspn(buf, "\n")] = 0;
				snprintf(line, sizeof line, "%s ", colon + 1);
			}
			break;
		}
	}
	fclose(f);
	return line;
}

/* cpuinfo_processors counts the "processor" entries of /proc/cpuinfo. */
static int cpuinfo_processors(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f == NULL)
		return -1;
	char buf[8192];
	int n = 0;
	while (fgets(buf, sizeof buf, f) != NULL)
		if (strncmp(buf, "processor\t:", 11) == 0)
			n++;
	fclose(f);
	return n;
}

/* online_cpus counts the CPUs in /sys/devices/system/cpu/online ("0-1", "0,2-3"...). */
static int online_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/online", "r");
	if (f == NULL)
		return -1;
	int n = 0, a, b;
	char sep;
	while (fscanf(f, "%d", &a) == 1) {
		b = a;
		if (fscanf(f, "%c", &sep) == 1 && sep == '-') {
			if (fscanf(f, "%d", &b) != 1)
				break;
			if (fscanf(f, "%c", &sep) != 1)
				sep = 0;
		}
		n += b - a + 1;
		if (sep != ',')
			break;
	}
	fclose(f);
	return n;
}

int main(int argc, char **argv, char **envp)
{
	int dump = argc > 1 && strcmp(argv[1], "dump") == 0;
	struct sigaction sa = {0};
	sa.sa_handler = on_sigill;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGILL, &sa, NULL);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	char *flags = dump ? NULL : cpuinfo_flags();
	if (!dump) {
		/* glibc's getauxval(AT_HWCAP) answers with its own bits on x86-64: read the
		 * vector the kernel wrote, after the environment. */
		char **p = envp;
		while (*p != NULL)
			p++;
		unsigned long hwcap = 0, hwcap2 = 0;
		for (unsigned long *a = (unsigned long *)(p + 1); a[0] != AT_NULL; a += 2) {
			if (a[0] == AT_HWCAP)
				hwcap = a[1];
			if (a[0] == AT_HWCAP2)
				hwcap2 = a[1];
		}
		unsigned eax, ebx, ecx, edx;
		__cpuid(1, eax, ebx, ecx, edx);
		printf("hwcap-is-cpuid1-edx %s\n", hwcap == edx ? "yes" : "NO");
		/* HWCAP2_FSGSBASE is bit 1. */
		printf("hwcap2-fsgsbase-is-cpuid %s\n", !!(hwcap2 & 2) == cpuid_has(feature("fsgsbase")) ? "yes" : "NO");
		cpu_set_t set;
		int n = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : -1;
		printf("cpus affinity-is-cpuinfo %s affinity-is-online %s\n",
		       n == cpuinfo_processors() ? "yes" : "NO", n == online_cpus() ? "yes" : "NO");
	}
	for (size_t i = 0; i < NFEAT; i++) {
		const struct feature *f = &features[i];
		if (dump) {
			printf("snip %s %u %u %u %u ", f->name, f->leaf, f->sub, f->reg, f->bit);
			hex(f->code, (size_t)(f->end - f->code));
			printf("\n");
		} else {
			char word[64];
			snprintf(word, sizeof word, " %s ", f->name);
			int b = f->builtin ? builtin_supports(f->builtin) : -1;
			printf("%s cpuid=%c builtin=%c cpuinfo=%c", f->name, "NY"[cpuid_has(f)],
			       b < 0 ? '-' : "NY"[b], flags == NULL ? '?' : "NY"[strstr(flags, word) != NULL]);
		}
		for (int r = 0; r < RUNS; r++) {
			fill(r);
			int ill = run(f);
			if (dump) {
				printf("in ");
				hex(in, sizeof in);
				printf(" out ");
			} else {
				printf(" ");
			}
			if (ill) {
				printf("SIGILL");
			} else {
				hex(out, sizeof out);
			}
			if (dump)
				printf("\n");
			if (ill)
				break;
		}
		if (!dump)
			printf("\n");
	}
	return 0;
}
