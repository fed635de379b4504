// SSE floating-point instructions on operands drawn from the edges of the number line
// (zeros, denormals, the smallest and largest normals, infinities, quiet and signalling
// NaNs, values that overflow, underflow or round when combined), under every rounding
// mode, with and without DAZ and FTZ, and with MXCSR's flags clear or set before: each
// line is a result bit for bit and the MXCSR after, to compare with the same run
// natively. Then unmasked exceptions: SIGFPE with the exception's code, the destination
// left as it was. argv[1] is the number of trials per instruction (default 300).
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

typedef struct {
	uint8_t b[16];
} xmm;

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void) {
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static const uint64_t f64s[] = {
	0x0000000000000000ull, 0x8000000000000000ull, 0x0000000000000001ull, 0x000fffffffffffffull,
	0x0010000000000000ull, 0x0010000000000001ull, 0x0020000000000000ull, 0x7fefffffffffffffull,
	0x7fe0000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull,
	0x7ff4000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull, 0x3fd5555555555555ull,
	0x4000000000000000ull, 0x41dfffffffc00000ull, 0x41e0000000000000ull, 0xc1e0000000000000ull,
	0x43e0000000000000ull, 0x3ca0000000000000ull, 0x1ff0000000000000ull, 0x5ff0000000000000ull,
	0x47efffffe0000000ull, 0x3810000000000000ull, 0x36a0000000000000ull, 0x4330000000000001ull,
};

static const uint32_t f32s[] = {
	0x00000000u, 0x80000000u, 0x00000001u, 0x007fffffu, 0x00800000u, 0x00800001u, 0x01000000u,
	0x7f7fffffu, 0x7f000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7fa00000u, 0x3f800000u,
	0xbf800000u, 0x3eaaaaabu, 0x40000000u, 0x4effffffu, 0x4f000000u, 0xcf000000u, 0x5f000000u,
	0x33800000u, 0x1f800000u, 0x5f800000u, 0x0d800000u, 0x4b000001u,
};

// A lane: mostly an edge value, sometimes a random number of random magnitude.
static uint64_t lane64(void) {
	uint64_t r = next();
	if (r % 4 == 0) return next();
	if (r % 4 == 1) return (next() & 0x800fffffffffffffull) | ((uint64_t)(0x3c0 + next() % 0x80) << 52);
	return f64s[(r >> 8) % (sizeof f64s / sizeof f64s[0])];
}

static uint32_t lane32(void) {
	uint64_t r = next();
	if (r % 4 == 0) return (uint32_t)next();
	if (r % 4 == 1) return ((uint32_t)next() & 0x807fffffu) | ((uint32_t)(0x60 + next() % 0x40) << 23);
	return f32s[(r >> 8) % (sizeof f32s / sizeof f32s[0])];
}

static xmm operand(int wide) {
	xmm x;
	if (wide) {
		uint64_t l[2] = {lane64(), lane64()};
		memcpy(x.b, l, 16);
	} else {
		uint32_t l[4] = {lane32(), lane32(), lane32(), lane32()};
		memcpy(x.b, l, 16);
	}
	return x;
}

// An MXCSR with every exception masked: any rounding, DAZ, FTZ and flags before.
static uint32_t config(void) {
	uint64_t r = next();
	uint32_t mx = 0x1f80 | (uint32_t)(r & 3) << 13;
	if (r & 4) mx |= 0x40;   // DAZ
	if (r & 8) mx |= 0x8000; // FTZ
	switch ((r >> 4) % 4) {
	case 0: break;
	case 1: mx |= 0x20; break;               // inexact already
	case 2: mx |= (uint32_t)(r >> 8) & 0x3f; break;
	default: mx |= 0x3f;
	}
	if ((r >> 16) % 3) mx &= ~0x6000u; // round to nearest mostly
	return mx;
}

static void show(const char *name, const xmm *d, const xmm *s, const xmm *r, uint32_t before, uint32_t after) {
	printf("%-10s", name);
	for (int i = 15; i >= 0; i--) printf("%02x", d->b[i]);
	printf(" ");
	for (int i = 15; i >= 0; i--) printf("%02x", s->b[i]);
	printf(" %04x -> ", before);
	for (int i = 15; i >= 0; i--) printf("%02x", r->b[i]);
	printf(" %04x\n", after);
}

// Two XMM operands, the first the destination.
#define BIN(name, wide)                                                                    \
	static void t_##name(void) {                                                       \
		xmm d = operand(wide), s = operand(wide), r;                               \
		uint32_t before = config(), after, def = 0x1f80;                           \
		__asm__ volatile("ldmxcsr %[mx]\n movdqu %[d], %%xmm0\n movdqu %[s], %%xmm1\n" \
				 #name " %%xmm1, %%xmm0\n stmxcsr %[after]\n movdqu %%xmm0, %[r]\n" \
				 " ldmxcsr %[def]"                                         \
				 : [after] "=m"(after), [r] "=m"(r)                         \
				 : [mx] "m"(before), [d] "m"(d), [s] "m"(s), [def] "m"(def) \
				 : "xmm0", "xmm1");                                         \
		show(#name, &d, &s, &r, before, after);                                    \
	}

// An integer source, or an integer destination (shown in the result's low bits).
#define FROMINT(name, insn, it)                                                            \
	static void t_##name(void) {                                                       \
		xmm d = operand(1), s = operand(1), r;                                     \
		it v;                                                                      \
		memcpy(&v, s.b, sizeof v);                                                 \
		uint32_t before = config(), after, def = 0x1f80;                           \
		__asm__ volatile("ldmxcsr %[mx]\n movdqu %[d], %%xmm0\n " insn " %[v], %%xmm0\n" \
				 " stmxcsr %[after]\n movdqu %%xmm0, %[r]\n ldmxcsr %[def]"  \
				 : [after] "=m"(after), [r] "=m"(r)                         \
				 : [mx] "m"(before), [d] "m"(d), [v] "r"(v), [def] "m"(def)  \
				 : "xmm0");                                                  \
		show(#name, &d, &s, &r, before, after);                                    \
	}
#define TOINT(name, insn, it, wide)                                                        \
	static void t_##name(void) {                                                       \
		xmm d = {{0}}, s = operand(wide), r = {{0}};                               \
		it v;                                                                      \
		uint32_t before = config(), after, def = 0x1f80;                           \
		__asm__ volatile("ldmxcsr %[mx]\n movdqu %[s], %%xmm1\n " insn " %%xmm1, %[v]\n" \
				 " stmxcsr %[after]\n ldmxcsr %[def]"                       \
				 : [after] "=m"(after), [v] "=r"(v)                         \
				 : [mx] "m"(before), [s] "m"(s), [def] "m"(def)             \
				 : "xmm1");                                                  \
		memcpy(r.b, &v, sizeof v);                                                 \
		show(#name, &d, &s, &r, before, after);                                    \
	}
// comiss and its family: EFLAGS' ZF, PF and CF shown as the result.
#define COMI(name, wide)                                                                   \
	static void t_##name(void) {                                                       \
		xmm d = operand(wide), s = operand(wide), r = {{0}};                       \
		uint64_t fl;                                                               \
		uint32_t before = config(), after, def = 0x1f80;                           \
		__asm__ volatile("ldmxcsr %[mx]\n movdqu %[d], %%xmm0\n movdqu %[s], %%xmm1\n" \
				 #name " %%xmm1, %%xmm0\n pushfq\n popq %[fl]\n"             \
				 " stmxcsr %[after]\n ldmxcsr %[def]"                       \
				 : [after] "=m"(after), [fl] "=r"(fl)                       \
				 : [mx] "m"(before), [d] "m"(d), [s] "m"(s), [def] "m"(def) \
				 : "xmm0", "xmm1", "cc");                                    \
		fl &= 0x8d5;                                                               \
		memcpy(r.b, &fl, sizeof fl);                                               \
		show(#name, &d, &s, &r, before, after);                                    \
	}

// roundps and its family with an immediate: the rounding (or MXCSR's), and whether the
// precision exception is kept quiet.
#define ROUND(name, wide, imm)                                                             \
	static void t_##name##_##imm(void) {                                               \
		xmm d = operand(wide), s = operand(wide), r;                               \
		uint32_t before = config(), after, def = 0x1f80;                           \
		__asm__ volatile("ldmxcsr %[mx]\n movdqu %[d], %%xmm0\n movdqu %[s], %%xmm1\n" \
				 #name " $" #imm ", %%xmm1, %%xmm0\n stmxcsr %[after]\n"    \
				 " movdqu %%xmm0, %[r]\n ldmxcsr %[def]"                     \
				 : [after] "=m"(after), [r] "=m"(r)                         \
				 : [mx] "m"(before), [d] "m"(d), [s] "m"(s), [def] "m"(def) \
				 : "xmm0", "xmm1");                                         \
		show(#name "/" #imm, &d, &s, &r, before, after);                           \
	}
#define ROUNDS(name, wide) ROUND(name, wide, 0) ROUND(name, wide, 1) ROUND(name, wide, 2) \
	ROUND(name, wide, 3) ROUND(name, wide, 4) ROUND(name, wide, 9) ROUND(name, wide, 12)
ROUNDS(roundps, 0) ROUNDS(roundpd, 1) ROUNDS(roundss, 0) ROUNDS(roundsd, 1)
#define TR(name) t_##name##_0, t_##name##_1, t_##name##_2, t_##name##_3, t_##name##_4, \
	t_##name##_9, t_##name##_12

#define ARITH(op) BIN(op##ps, 0) BIN(op##pd, 1) BIN(op##ss, 0) BIN(op##sd, 1)
ARITH(add) ARITH(sub) ARITH(mul) ARITH(div) ARITH(min) ARITH(max) ARITH(sqrt)
ARITH(cmpeq) ARITH(cmplt) ARITH(cmple) ARITH(cmpunord) ARITH(cmpneq) ARITH(cmpnlt)
ARITH(cmpnle) ARITH(cmpord)
BIN(haddps, 0) BIN(haddpd, 1) BIN(hsubps, 0) BIN(hsubpd, 1) BIN(addsubps, 0) BIN(addsubpd, 1)
BIN(rcpps, 0) BIN(rcpss, 0) BIN(rsqrtps, 0) BIN(rsqrtss, 0)
BIN(cvtps2pd, 0) BIN(cvtpd2ps, 1) BIN(cvtss2sd, 0) BIN(cvtsd2ss, 1) BIN(cvtdq2ps, 0)
BIN(cvtdq2pd, 0) BIN(cvtps2dq, 0) BIN(cvtpd2dq, 1) BIN(cvttps2dq, 0) BIN(cvttpd2dq, 1)
COMI(comiss, 0) COMI(comisd, 1) COMI(ucomiss, 0) COMI(ucomisd, 1)
FROMINT(cvtsi2ssl, "cvtsi2ssl", int32_t) FROMINT(cvtsi2sdl, "cvtsi2sdl", int32_t)
FROMINT(cvtsi2ssq, "cvtsi2ssq", int64_t) FROMINT(cvtsi2sdq, "cvtsi2sdq", int64_t)
TOINT(cvtss2si, "cvtss2si", int32_t, 0) TOINT(cvtsd2si, "cvtsd2si", int32_t, 1)
TOINT(cvttss2si, "cvttss2si", int32_t, 0) TOINT(cvttsd2si, "cvttsd2si", int32_t, 1)
TOINT(cvtss2siq, "cvtss2si", int64_t, 0) TOINT(cvtsd2siq, "cvtsd2si", int64_t, 1)
TOINT(cvttss2siq, "cvttss2si", int64_t, 0) TOINT(cvttsd2siq, "cvttsd2si", int64_t, 1)

#define T4(op) t_##op##ps, t_##op##pd, t_##op##ss, t_##op##sd
static void (*const tests[])(void) = {
	T4(add), T4(sub), T4(mul), T4(div), T4(min), T4(max), T4(sqrt), T4(cmpeq), T4(cmplt),
	T4(cmple), T4(cmpunord), T4(cmpneq), T4(cmpnlt), T4(cmpnle), T4(cmpord),
	t_haddps, t_haddpd, t_hsubps, t_hsubpd, t_addsubps, t_addsubpd, t_rcpps, t_rcpss,
	t_rsqrtps, t_rsqrtss, t_cvtps2pd, t_cvtpd2ps, t_cvtss2sd, t_cvtsd2ss, t_cvtdq2ps,
	t_cvtdq2pd, t_cvtps2dq, t_cvtpd2dq, t_cvttps2dq, t_cvttpd2dq, t_comiss, t_comisd,
	t_ucomiss, t_ucomisd, t_cvtsi2ssl, t_cvtsi2sdl, t_cvtsi2ssq, t_cvtsi2sdq, t_cvtss2si,
	t_cvtsd2si, t_cvttss2si, t_cvttsd2si, t_cvtss2siq, t_cvtsd2siq, t_cvttss2siq,
	t_cvttsd2siq, TR(roundps), TR(roundpd), TR(roundss), TR(roundsd),
};

static sigjmp_buf fpe_env;

static void on_fpe(int sig, siginfo_t *si, void *ucv) {
	ucontext_t *uc = ucv;
	printf("SIGFPE si_code %d trapno %lld mxcsr %04x\n", si->si_code,
	       (long long)uc->uc_mcontext.gregs[REG_TRAPNO], uc->uc_mcontext.fpregs->mxcsr);
	siglongjmp(fpe_env, 1);
}

// An unmasked exception: SIGFPE at the instruction, its destination unchanged.
static void trap(const char *what, uint32_t mx, double a, double b) {
	volatile double r = -1;
	uint32_t def = 0x1f80;
	if (sigsetjmp(fpe_env, 1) == 0) {
		__asm__ volatile("movsd %[a], %%xmm0\n ldmxcsr %[mx]\n divsd %[b], %%xmm0\n"
				 " movsd %%xmm0, %[r]\n ldmxcsr %[def]"
				 : [r] "=m"(r) : [a] "m"(a), [b] "m"(b), [mx] "m"(mx), [def] "m"(def)
				 : "xmm0");
		printf("no SIGFPE: ");
	}
	__asm__ volatile("ldmxcsr %0" : : "m"(def));
	printf("%s: r %a\n", what, r);
}

int main(int argc, char **argv) {
	int trials = argc > 1 ? atoi(argv[1]) : 300;
	for (size_t t = 0; t < sizeof tests / sizeof tests[0]; t++)
		for (int i = 0; i < trials; i++) tests[t]();

	struct sigaction sa = {0};
	sa.sa_sigaction = on_fpe;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGFPE, &sa, NULL);
	trap("divide by zero unmasked", 0x1f80 & ~0x200, 1.0, 0.0);
	trap("invalid unmasked", 0x1f80 & ~0x80, 0.0, 0.0);
	trap("overflow unmasked", 0x1f80 & ~0x400, 0x1p1000, 0x1p-1000);
	trap("inexact unmasked", 0x1f80 & ~0x1000, 1.0, 3.0);
	trap("divide by zero masked, its flag set", 0x1f80 | 0x4, 1.0, 0.0);
	trap("divide by zero unmasked, its flag set", (0x1f80 & ~0x200) | 0x4, 1.0, 0.0);
	trap("nothing raised", 0x1f80 & ~0x200, 6.0, 3.0);
	return 0;
}
