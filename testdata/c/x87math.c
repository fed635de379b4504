// The x87's transcendental, remainder and integer conversion instructions and the long
// double functions of the C library built on them, printed bit for bit with the status word each instruction left
// (condition codes and exception flags), to compare with the same run natively: the
// results must be the host CPU's own, in all 64 bits of the significand. Also the edges:
// NaNs, infinities, denormals, operands fsin cannot reduce, fprem's partial remainders,
// and stack underflow and overflow.
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

typedef long double ld;

// Condition codes C3, C2, C1, C0 and the six exception flags (no stack top: the layout
// of the stack is the test's).
#define SW_MASK 0x473f

static void bits(ld v) {
	unsigned char b[10];
	memcpy(b, &v, 10);
	for (int i = 9; i >= 0; i--) printf("%02x", b[i]);
}

static void show(const char *op, ld a, ld b, int n, const ld *r, unsigned short sw) {
	printf("%-8s ", op);
	bits(a);
	printf(" ");
	bits(b);
	printf(" ->");
	for (int i = 0; i < n; i++) {
		printf(" ");
		bits(r[i]);
	}
	printf(" sw=%04x\n", sw & SW_MASK);
}

#define CLOBBERS "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)"

// One operand in ST(0), one result.
#define UNARY(name)                                                                        \
	static void x_##name(ld a) {                                                       \
		ld r;                                                                      \
		unsigned short sw;                                                         \
		__asm__ volatile("fninit\n fldt %2\n " #name "\n fnstsw %1\n fstpt %0"     \
				 : "=m"(r), "=m"(sw) : "m"(a) : CLOBBERS);                 \
		show(#name, a, 0, 1, &r, sw);                                              \
	}
// One operand, two results (fptan, fsincos and fxtract push one, but fptan and fsincos
// push nothing when they leave an operand out of range, C2 set: the empty register is not
// read then).
#define UNARY2(name)                                                                       \
	static void x_##name(ld a) {                                                       \
		ld r[2] = {0, 0};                                                          \
		unsigned short sw;                                                         \
		__asm__ volatile("fninit\n fldt %3\n " #name "\n fnstsw %2\n fstpt %0\n"    \
				 " testw $0x400, %2\n jnz 1f\n fstpt %1\n1:\n fninit"           \
				 : "=m"(r[0]), "+m"(r[1]), "=m"(sw) : "m"(a) : CLOBBERS, "cc"); \
		show(#name, a, 0, 2, r, sw);                                               \
	}
// ST(0) = a, ST(1) = b; one result left (fyl2x, fyl2xp1 and fpatan pop).
#define BINARY(name)                                                                       \
	static void x_##name(ld a, ld b) {                                                 \
		ld r;                                                                      \
		unsigned short sw;                                                         \
		__asm__ volatile("fninit\n fldt %3\n fldt %2\n " #name "\n fnstsw %1\n fstpt %0" \
				 : "=m"(r), "=m"(sw) : "m"(a), "m"(b) : CLOBBERS);         \
		show(#name, a, b, 1, &r, sw);                                              \
	}
// ST(0) = a, ST(1) = b; both left (fprem, fprem1, fscale).
#define BINARY2(name)                                                                      \
	static void x_##name(ld a, ld b) {                                                 \
		ld r[2];                                                                   \
		unsigned short sw;                                                         \
		__asm__ volatile("fninit\n fldt %4\n fldt %3\n " #name "\n fnstsw %2\n fstpt %0\n fstpt %1" \
				 : "=m"(r[0]), "=m"(r[1]), "=m"(sw) : "m"(a), "m"(b) : CLOBBERS); \
		show(#name, a, b, 2, r, sw);                                               \
	}

UNARY(f2xm1)
UNARY(fsqrt)
UNARY(frndint)
UNARY(fsin)
UNARY(fcos)
UNARY2(fptan)
UNARY2(fsincos)
UNARY2(fxtract)
BINARY(fyl2x)
BINARY(fyl2xp1)
BINARY(fpatan)
BINARY2(fprem)
BINARY2(fprem1)
BINARY2(fscale)

// Conversions to integers of every width, rounded (fistp) and truncated (fisttp):
// out-of-range operands give the integer indefinite and the invalid-operation flag.
#define CONVERT(name, insn, type)                                                          \
	static void x_##name(ld a) {                                                       \
		type r = 0;                                                                \
		unsigned short sw;                                                         \
		__asm__ volatile("fninit\n fldt %2\n " insn " %1\n fnstsw %0"             \
				 : "=m"(sw), "=m"(r) : "m"(a) : CLOBBERS);                 \
		printf("%-8s ", #name);                                                    \
		bits(a);                                                                   \
		printf(" -> %lld sw=%04x\n", (long long)r, sw & SW_MASK);                  \
	}

CONVERT(fist16, "fistps", short)
CONVERT(fist32, "fistpl", int)
CONVERT(fist64, "fistpll", long long)
CONVERT(fistt16, "fisttps", short)
CONVERT(fistt32, "fisttpl", int)
CONVERT(fistt64, "fisttpll", long long)

static sigjmp_buf fpe_env;

static void on_fpe(int sig, siginfo_t *si, void *ucv) {
	ucontext_t *uc = ucv;
	printf("SIGFPE si_code %d trapno %lld status %04x\n", si->si_code,
	       (long long)uc->uc_mcontext.gregs[REG_TRAPNO], uc->uc_mcontext.fpregs->swd & ~0x3800);
	siglongjmp(fpe_env, 1);
}

// An unmasked exception: the instruction stores nothing and sets the error summary, and
// the next waiting instruction (fwait here: under vemu, as in Unicorn, the x87's other
// waiting instructions do not look) raises SIGFPE with the exception's code.
static void unmasked(unsigned short cw, ld a, ld b) {
	struct sigaction sa = {0};
	sa.sa_sigaction = on_fpe;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGFPE, &sa, NULL);
	volatile ld r[2] = {0, 0};
	unsigned short sw = 0;
	if (sigsetjmp(fpe_env, 1) == 0) {
		__asm__ volatile("fninit\n fldcw %3\n fldt %5\n fldt %4\n fyl2x\n fnstsw %2\n"
				 " fwait\n fstpt %0\n"
				 : "=m"(r[0]), "=m"(r[1]), "=m"(sw) : "m"(cw), "m"(a), "m"(b) : CLOBBERS);
		printf("no SIGFPE: ");
	}
	__asm__ volatile("fninit");
	show("unmasked", a, b, 1, (ld *)&r[0], sw);
	signal(SIGFPE, SIG_DFL);
}

// The stack's edges: an instruction on an empty stack, and one that pushes onto a full one.
static void edges(void) {
	ld r[2];
	unsigned short sw;
	__asm__ volatile("fninit\n fsin\n fnstsw %1\n fstpt %0" : "=m"(r[0]), "=m"(sw) : : CLOBBERS);
	show("fsin-empty", 0, 0, 1, r, sw);
	__asm__ volatile("fninit\n fld1\n fyl2x\n fnstsw %1\n fstpt %0" : "=m"(r[0]), "=m"(sw) : : CLOBBERS);
	show("fyl2x-one", 0, 0, 1, r, sw);
	__asm__ volatile("fninit\n fld1\n fld1\n fld1\n fld1\n fld1\n fld1\n fld1\n fldpi\n"
			 " fptan\n fnstsw %2\n fstpt %0\n fstpt %1\n fninit"
			 : "=m"(r[0]), "=m"(r[1]), "=m"(sw) : : CLOBBERS);
	show("fptan-full", 0, 0, 2, r, sw);
	// Deeper registers stay as they were: a pop leaves the old ST(2) in ST(1), a push
	// moves everything down one.
	ld d[5];
	__asm__ volatile("fninit\n fldl2e\n fldlg2\n fldpi\n fld1\n fldl2t\n fyl2x\n fnstsw %5\n"
			 " fstpt %0\n fstpt %1\n fstpt %2\n fstpt %3\n"
			 : "=m"(d[0]), "=m"(d[1]), "=m"(d[2]), "=m"(d[3]), "=m"(d[4]), "=m"(sw) : : CLOBBERS);
	show("fyl2x-deep", 0, 0, 4, d, sw);
	__asm__ volatile("fninit\n fldl2e\n fldlg2\n fldpi\n fsincos\n fnstsw %4\n"
			 " fstpt %0\n fstpt %1\n fstpt %2\n fstpt %3\n"
			 : "=m"(d[0]), "=m"(d[1]), "=m"(d[2]), "=m"(d[3]), "=m"(sw) : : CLOBBERS);
	show("fsincos-deep", 0, 0, 4, d, sw);
}

int main(void) {
	const ld vals[] = {
		0.5L, -0.3L, 1e-3L, 0.7L, 1.0L / 3, 3.0L, 10.0L, 1e10L, 123.456L, -7.25L,
		1e-300L, 1e300L, 0x1p63L, -0x1p64L, 1e4000L, 0x1p-16445L, 0.0L, -0.0L, 2.5L,
		-32768.5L, 32767.5L, 2147483647.5L, -0x1p63L, 0x1p63L - 1,
		__builtin_infl(), -__builtin_infl(), __builtin_nanl(""), 3.14159265358979323846L,
	};
	const int n = sizeof vals / sizeof vals[0];
	for (int i = 0; i < n; i++) {
		ld a = vals[i];
		x_f2xm1(a);
		x_fsqrt(a);
		x_frndint(a);
		x_fsin(a);
		x_fcos(a);
		x_fptan(a);
		x_fsincos(a);
		x_fxtract(a);
		x_fist16(a);
		x_fist32(a);
		x_fist64(a);
		x_fistt16(a);
		x_fistt32(a);
		x_fistt64(a);
		for (int j = 0; j < n; j += 2) {
			ld b = vals[j];
			x_fyl2x(a, b);
			x_fyl2xp1(a, b);
			x_fpatan(a, b);
			x_fprem(a, b);
			x_fprem1(a, b);
			x_fscale(a, b);
		}
	}
	edges();
	unmasked(0x037e, -2.0L, 1.0L);  // invalid operation unmasked: log2 of a negative
	unmasked(0x037b, 0.0L, 1.0L);   // divide-by-zero unmasked: log2 of zero
	unmasked(0x037e, 8.0L, 1.0L);   // nothing to raise

	// The C library's long double functions, most of them built on the instructions above.
	for (int i = 0; i < n; i++) {
		ld x = vals[i], ax = fabsl(x);
		printf("%La: exp %La expm1 %La exp2 %La log %La log2 %La log10 %La log1p %La\n", x,
		       expl(x), expm1l(x), exp2l(x), logl(ax), log2l(ax), log10l(ax), log1pl(ax));
		printf("  sin %La cos %La tan %La asin %La acos %La atan %La atan2 %La\n", sinl(x),
		       cosl(x), tanl(x), asinl(x / 4e300L), acosl(x / 4e300L), atanl(x), atan2l(x, 3.0L));
		printf("  pow %La fmod %La rem %La sinh %La tanh %La cbrt %La hypot %La\n",
		       powl(ax, 1.37L), fmodl(x, 0.7L), remainderl(x, 0.7L), sinhl(x / 64), tanhl(x),
		       cbrtl(x), hypotl(x, 2.5L));
		printf("  double: fmod %a rem %a exp %a log %a pow %a\n", fmod((double)x, 0.7),
		       remainder((double)x, 0.7), exp((double)x / 64), log((double)ax), pow((double)ax, 1.37));
	}
	return 0;
}
