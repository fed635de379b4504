// SSE floating-point arithmetic with MXCSR's exception flags and the SIMD floating-point
// exception.
//
// Unicorn 2.1.1's (QEMU 5.0's) SSE helpers compute with softfloat but never move the
// exceptions softfloat saw into MXCSR, and never raise #XM: `fetestexcept` found nothing
// after a division by zero, and a program that unmasks an exception (SBCL does for
// division by zero, overflow and invalid operation) got the masked result instead of
// SIGFPE, so (/ 1.0 0.0) answered infinity where SBCL signals DIVISION-BY-ZERO. The link
// (-Wl,--wrap, see engine.go) sends Unicorn's calls of the SSE arithmetic, comparison,
// approximation, rounding and conversion helpers here; on an x86-64 host each runs the
// same instruction on the host, under the guest's rounding, DAZ and FTZ with every
// exception masked, and then, as the CPU does, adds the exceptions it raised to the
// guest's MXCSR and either writes the result or, for an unmasked one, raises #XM at the
// instruction without writing anything.
// Elsewhere, or outside a run, Unicorn's helper runs.
#include <stdint.h>
#include <string.h>
#include "hooks.h"

// The SIMD floating-point exception's vector.
#define EXCP_XM 19

// MXCSR: the exception flags, and the masks seven bits above them.
#define MX_FLAGS 0x3fu
#define MX_MASKS 0x1f80u
// The exceptions found before computing (invalid operation, denormal operand, division
// by zero) and after (overflow, underflow, precision).
#define MX_PRE 0x07u
#define MX_OE 0x08u
#define MX_UE 0x10u
#define MX_PE 0x20u

// QEMU's, linked from libunicorn: raises exception excp at the guest instruction whose
// translated code called the helper that ra returns into.
void raise_exception_ra_x86_64(void *env, int excp, uintptr_t ra) __attribute__((noreturn));

// The running engine's MXCSR, while known: MXCSR changes under a run only through the
// wrapped helpers below (ldmxcsr and fxrstor forget it), and Go's changes between runs
// are forgotten at the start of each (vemu_fp_running).
static __thread uint32_t sse_mx;
static __thread int sse_known;

// The host's MXCSR without its flags, as at the last vemu_sse_forget (on an x86-64 host).
static __thread uint32_t host_ctl;

void vemu_sse_forget(void) {
	sse_known = 0;
#if defined(__x86_64__)
	uint32_t mx;
	__asm__ volatile("stmxcsr %0" : "=m"(mx));
	host_ctl = mx & ~MX_FLAGS;
#endif
}

#if defined(__x86_64__)

// guest_mxcsr sets *mx to the running engine's MXCSR, or says there is none.
static int guest_mxcsr(uint32_t *mx) {
	if (!vemu_fp_uc) return 0;
	if (!sse_known) {
		uint32_t v;
		if (uc_reg_read(vemu_fp_uc, UC_X86_REG_MXCSR, &v) != UC_ERR_OK) return 0;
		sse_mx = v;
		sse_known = 1;
	}
	*mx = sse_mx;
	return 1;
}

// The host runs an instruction up to three times, the cheapest way first (stmxcsr and
// ldmxcsr cost several times the instruction itself). Calm: as the host's MXCSR stands,
// when its controls are the guest's with every exception masked, and the operands and
// result show that nothing but the precision exception can have been raised (no NaN,
// infinity or denormal in, a normal result well clear of overflow and underflow out, an
// integer far from its type's limits) and the guest's MXCSR has that flag already (or
// the instruction never raises it). Fast: the same, reading the flags after, which hold
// nothing new for the guest. Else exact: with the guest's controls and no flag set,
// reading the flags raised after, and the host's own MXCSR back without flags (so that
// the next instruction does not come this way again for flags of the host's own). A
// guest that unmasks an exception always takes the exact way: a flag it already has may
// be raised again and trap.
#define HOST_MX(mx) ((mx | MX_MASKS) & ~MX_FLAGS)
#define CALM_LEAVE ""
#define FAST_ENTER ""
#define FAST_LEAVE "stmxcsr %[after]\n"
#define EXACT_ENTER "stmxcsr %[host]\n andl $~0x3f, %[host]\n ldmxcsr %[run]\n"
#define EXACT_LEAVE "stmxcsr %[after]\n ldmxcsr %[host]\n"

// An instruction of two XMM operands, d the destination and first source: the result
// (all 128 bits of the register) goes to out.
#define HOST_BIN1(fn, insn, enter, leave)                                                   \
	static uint32_t fn(uint32_t run, const void *d, const void *s, void *out) {         \
		uint32_t host = 0, after = 0;                                               \
		__asm__ volatile(enter "movdqu %[d], %%xmm0\n movdqu %[s], %%xmm1\n"        \
				 insn " %%xmm1, %%xmm0\n" leave "movdqu %%xmm0, %[out]"       \
				 : [host] "+m"(host), [after] "+m"(after),                    \
				   [out] "=m"(*(uint8_t(*)[16])out)                           \
				 : [run] "m"(run), [d] "m"(*(const uint8_t(*)[16])d),         \
				   [s] "m"(*(const uint8_t(*)[16])s)                          \
				 : "xmm0", "xmm1", "cc");                                     \
		return after;                                                               \
	}
// HOST_WAYS makes the three ways of an instruction with the generator gen.
#define HOST_WAYS(gen, fn, ...)                                                             \
	gen(fn##_calm, __VA_ARGS__, FAST_ENTER, CALM_LEAVE)                                 \
	gen(fn##_fast, __VA_ARGS__, FAST_ENTER, FAST_LEAVE)                                 \
	gen(fn##_exact, __VA_ARGS__, EXACT_ENTER, EXACT_LEAVE)
#define HOST_BIN(fn, insn) HOST_WAYS(HOST_BIN1, fn, insn)

// A conversion of the integer v into the XMM register d.
#define HOST_FROM_INT1(fn, insn, it, enter, leave)                                          \
	static uint32_t fn(uint32_t run, const void *d, it v, void *out) {                  \
		uint32_t host = 0, after = 0;                                               \
		__asm__ volatile(enter "movdqu %[d], %%xmm0\n" insn " %[v], %%xmm0\n"       \
				 leave "movdqu %%xmm0, %[out]"                                \
				 : [host] "+m"(host), [after] "+m"(after),                    \
				   [out] "=m"(*(uint8_t(*)[16])out)                           \
				 : [run] "m"(run), [d] "m"(*(const uint8_t(*)[16])d), [v] "r"(v) \
				 : "xmm0", "cc");                                             \
		return after;                                                               \
	}
#define HOST_FROM_INT(fn, insn, it) HOST_WAYS(HOST_FROM_INT1, fn, insn, it)

// A conversion of the XMM register s into an integer.
#define HOST_TO_INT1(fn, insn, it, enter, leave)                                            \
	static uint32_t fn(uint32_t run, const void *s, it *r) {                            \
		uint32_t host = 0, after = 0;                                               \
		__asm__ volatile(enter "movdqu %[s], %%xmm1\n" insn " %%xmm1, %[r]\n" leave  \
				 : [host] "+m"(host), [after] "+m"(after), [r] "=r"(*r)       \
				 : [run] "m"(run), [s] "m"(*(const uint8_t(*)[16])s)          \
				 : "xmm1", "cc");                                             \
		return after;                                                               \
	}
#define HOST_TO_INT(fn, insn, it) HOST_WAYS(HOST_TO_INT1, fn, insn, it)

// fast_ok says whether the flags read after the quick way (see above) stand for the
// guest.
static inline int fast_ok(uint32_t mx, uint32_t after) {
	return (mx & MX_MASKS) == MX_MASKS && (after & ~MX_FLAGS) == HOST_MX(mx) &&
	       !(after & MX_FLAGS & ~mx);
}

// calm_ready says whether the calm way may be tried: the host's controls are the
// guest's, every exception is masked, and the guest has the precision flag when the
// instruction may raise it (pe).
static inline int calm_ready(uint32_t mx, int pe) {
	return (mx & ~MX_FLAGS) == host_ctl && (mx & MX_MASKS) == MX_MASKS && (!pe || (mx & MX_PE));
}

static inline uint64_t lane64(const void *p, int i) {
	uint64_t v;
	memcpy(&v, (const uint8_t *)p + 8 * i, 8);
	return v;
}

static inline uint32_t lane32(const void *p, int i) {
	uint32_t v;
	memcpy(&v, (const uint8_t *)p + 4 * i, 4);
	return v;
}

// C: each of the first n lanes is a normal number or a zero (no NaN, infinity or
// denormal: no invalid-operation or denormal exception from it). S: each is normal and
// at least twice the smallest normal, below the largest binade (no overflow or underflow
// made it). R: as C, and below 2^(maxe - bias) in magnitude (an integer conversion of it
// fits whatever the rounding).
static inline int C64(const void *p, int n) {
	for (int i = 0; i < n; i++) {
		uint64_t v = lane64(p, i), e = v >> 52 & 0x7ff;
		if (e - 1 >= 0x7fe && (v << 1)) return 0;
	}
	return 1;
}

static inline int C32(const void *p, int n) {
	for (int i = 0; i < n; i++) {
		uint32_t v = lane32(p, i), e = v >> 23 & 0xff;
		if (e - 1 >= 0xfe && (v << 1)) return 0;
	}
	return 1;
}

static inline int S64(const void *p, int n) {
	for (int i = 0; i < n; i++)
		if ((lane64(p, i) >> 52 & 0x7ff) - 2 >= 0x7fc) return 0;
	return 1;
}

static inline int S32(const void *p, int n) {
	for (int i = 0; i < n; i++)
		if ((lane32(p, i) >> 23 & 0xff) - 2 >= 0xfc) return 0;
	return 1;
}

static inline int R64(const void *p, int n, uint64_t maxe) {
	for (int i = 0; i < n; i++)
		if ((lane64(p, i) >> 52 & 0x7ff) > maxe) return 0;
	return 1;
}

static inline int R32(const void *p, int n, uint32_t maxe) {
	for (int i = 0; i < n; i++)
		if ((lane32(p, i) >> 23 & 0xff) > maxe) return 0;
	return 1;
}

// Exponents below which a conversion to a 32-bit or 64-bit integer cannot overflow.
#define I32_64 (1023 + 29)
#define I64_64 (1023 + 61)
#define I32_32 (127 + 29)
#define I64_32 (127 + 61)

// HOST_RUN runs host_fn's quick way, then its exact way if needed: the exceptions the
// instruction raised for the guest, and its result in place.
#define HOST_RUN(fn, mx, ...)                                                               \
	({                                                                                  \
		uint32_t after_ = fn##_fast(0, __VA_ARGS__);                                \
		if (!fast_ok(mx, after_)) after_ = fn##_exact(HOST_MX(mx), __VA_ARGS__);    \
		after_;                                                                     \
	})

// CALM tries host_fn's calm way: whether check (an expression of the operands and the
// result) allowed it.
#define CALM(fn, mx, pe, check, ...) (calm_ready(mx, pe) && (fn##_calm(0, __VA_ARGS__), (check)))

// roundps and its family, whose immediate (the rounding, and whether to keep the
// precision exception quiet) is part of the instruction: one asm statement for each.
#define ROUND_CASE(insn, n, enter, leave)                                                   \
	case n:                                                                             \
		__asm__ volatile(enter "movdqu %[d], %%xmm0\n movdqu %[s], %%xmm1\n"        \
				 insn " $" #n ", %%xmm1, %%xmm0\n" leave "movdqu %%xmm0, %[out]" \
				 : [host] "+m"(host), [after] "+m"(after),                    \
				   [out] "=m"(*(uint8_t(*)[16])out)                           \
				 : [run] "m"(run), [d] "m"(*(const uint8_t(*)[16])d),         \
				   [s] "m"(*(const uint8_t(*)[16])s)                          \
				 : "xmm0", "xmm1", "cc");                                     \
		break;
#define HOST_ROUND1(fn, insn, enter, leave)                                                 \
	static uint32_t fn(uint32_t run, const void *d, const void *s, void *out, uint32_t mode) { \
		uint32_t host = 0, after = 0;                                               \
		switch (mode & 15) {                                                        \
			ROUND_CASE(insn, 0, enter, leave) ROUND_CASE(insn, 1, enter, leave) \
			ROUND_CASE(insn, 2, enter, leave) ROUND_CASE(insn, 3, enter, leave) \
			ROUND_CASE(insn, 4, enter, leave) ROUND_CASE(insn, 5, enter, leave) \
			ROUND_CASE(insn, 6, enter, leave) ROUND_CASE(insn, 7, enter, leave) \
			ROUND_CASE(insn, 8, enter, leave) ROUND_CASE(insn, 9, enter, leave) \
			ROUND_CASE(insn, 10, enter, leave) ROUND_CASE(insn, 11, enter, leave) \
			ROUND_CASE(insn, 12, enter, leave) ROUND_CASE(insn, 13, enter, leave) \
			ROUND_CASE(insn, 14, enter, leave) ROUND_CASE(insn, 15, enter, leave) \
		}                                                                           \
		return after;                                                               \
	}
#define HOST_ROUND(fn, insn) HOST_WAYS(HOST_ROUND1, fn, insn)

#else

static int guest_mxcsr(uint32_t *mx) {
	(void)mx;
	return 0;
}

// Never called: guest_mxcsr sends every helper to Unicorn's own.
#define HOST_BIN(fn, insn)
#define HOST_FROM_INT(fn, insn, it)
#define HOST_TO_INT(fn, insn, it)
#define HOST_ROUND(fn, insn)
#define HOST_RUN(fn, mx, ...) 0
#define CALM(fn, mx, pe, check, ...) 0

#endif

// settle takes the exceptions an instruction raised: they join MXCSR's flags, and an
// unmasked one raises #XM at the instruction (ra: see raise_exception_ra), which does not
// return. When settle returns, the caller writes its result.
static void settle(void *env, uint32_t raised, uintptr_t ra) {
	raised &= MX_FLAGS;
	uint32_t unmasked = raised & ~(sse_mx >> 7);
	if (unmasked & MX_PRE)
		// Nothing was computed: the later exceptions were not reached.
		raised &= MX_PRE;
	else if (unmasked & (MX_OE | MX_UE))
		// Nothing is stored, so nothing was rounded either.
		raised &= ~MX_PE;
	if (raised & ~sse_mx) {
		sse_mx |= raised;
		uc_reg_write(vemu_fp_uc, UC_X86_REG_MXCSR, &sse_mx);
	}
	if (raised & ~(sse_mx >> 7)) raise_exception_ra_x86_64(env, EXCP_XM, ra);
}

// SSE_INTO replaces Unicorn's helper of name, which writes the XMM register d from d and
// one more operand (decl, passed on as arg), by the host's instruction (host_NAME).
#define SSE_INTO(name, pe, check, decl, arg)                                                \
	void __real_helper_##name##_x86_64(void *env, void *d, decl);                       \
	void __wrap_helper_##name##_x86_64(void *env, void *d, decl) {                      \
		uintptr_t ra = (uintptr_t)__builtin_return_address(0);                      \
		uint32_t mx;                                                                \
		uint8_t out[16];                                                            \
		if (!guest_mxcsr(&mx)) {                                                    \
			__real_helper_##name##_x86_64(env, d, arg);                         \
			return;                                                             \
		}                                                                           \
		if (!CALM(host_##name, mx, pe, check, d, arg, out))                        \
			settle(env, HOST_RUN(host_##name, mx, d, arg, out), ra);            \
		memcpy(d, out, 16);                                                         \
	}

// An instruction of two XMM operands: Unicorn's XMM registers (or its copy of a memory
// operand), the first written.
#define SSE_BIN(name, insn, pe, check)                                                      \
	HOST_BIN(host_##name, insn)                                                         \
	SSE_INTO(name, pe, check, void *s, s)

// A comparison that sets EFLAGS (comiss and its family): the host gives MXCSR's flags,
// Unicorn's helper EFLAGS.
#define SSE_COMI(name, insn, check)                                                         \
	HOST_BIN(host_##name, insn)                                                         \
	void __real_helper_##name##_x86_64(void *env, void *d, void *s);                    \
	void __wrap_helper_##name##_x86_64(void *env, void *d, void *s) {                   \
		uintptr_t ra = (uintptr_t)__builtin_return_address(0);                      \
		uint32_t mx;                                                                \
		uint8_t out[16];                                                            \
		if (guest_mxcsr(&mx) && !(calm_ready(mx, 0) && (check)))                    \
			settle(env, HOST_RUN(host_##name, mx, d, s, out), ra);              \
		__real_helper_##name##_x86_64(env, d, s);                                   \
	}

// A conversion from an integer of type it into the XMM register d.
#define SSE_FROM_INT(name, insn, it, pe)                                                    \
	HOST_FROM_INT(host_##name, insn, it)                                                \
	SSE_INTO(name, pe, 1, it v, v)

// A conversion of the XMM register s into an integer of type it, which Unicorn stores.
#define SSE_TO_INT(name, insn, it, check)                                                   \
	HOST_TO_INT(host_##name, insn, it)                                                  \
	it __real_helper_##name##_x86_64(void *env, void *s);                               \
	it __wrap_helper_##name##_x86_64(void *env, void *s) {                              \
		uintptr_t ra = (uintptr_t)__builtin_return_address(0);                      \
		uint32_t mx;                                                                \
		it r;                                                                       \
		if (!guest_mxcsr(&mx)) return __real_helper_##name##_x86_64(env, s);        \
		if (!CALM(host_##name, mx, 1, check, s, &r))                               \
			settle(env, HOST_RUN(host_##name, mx, s, &r), ra);                  \
		return r;                                                                   \
	}

// The checks of the calm way: operands d and s, result out; pe says whether the
// instruction may raise the precision exception.
#define ARITH_PS 1, C32(d, 4) && C32(s, 4) && S32(out, 4)
#define ARITH_PD 1, C64(d, 2) && C64(s, 2) && S64(out, 2)
#define ARITH_SS 1, C32(d, 1) && C32(s, 1) && S32(out, 1)
#define ARITH_SD 1, C64(d, 1) && C64(s, 1) && S64(out, 1)
#define UNARY_PS 1, C32(s, 4) && S32(out, 4)
#define UNARY_PD 1, C64(s, 2) && S64(out, 2)
#define UNARY_SS 1, C32(s, 1) && S32(out, 1)
#define UNARY_SD 1, C64(s, 1) && S64(out, 1)
#define EXACT_PS 0, C32(d, 4) && C32(s, 4)
#define EXACT_PD 0, C64(d, 2) && C64(s, 2)
#define EXACT_SS 0, C32(d, 1) && C32(s, 1)
#define EXACT_SD 0, C64(d, 1) && C64(s, 1)

// SSE_BINK is SSE_BIN of a kind above (its two arguments).
#define SSE_BIN_(...) SSE_BIN(__VA_ARGS__)
#define SSE_BINK(name, insn, kind) SSE_BIN_(name, insn, kind)
#define SSE_ARITH(op, kind)                                                                 \
	SSE_BINK(op##ps, #op "ps", kind##_PS)                                               \
	SSE_BINK(op##pd, #op "pd", kind##_PD)                                               \
	SSE_BINK(op##ss, #op "ss", kind##_SS)                                               \
	SSE_BINK(op##sd, #op "sd", kind##_SD)

SSE_ARITH(add, ARITH)
SSE_ARITH(sub, ARITH)
SSE_ARITH(mul, ARITH)
SSE_ARITH(div, ARITH)
SSE_ARITH(sqrt, UNARY)
// Minimum, maximum and comparisons round nothing: calm operands raise nothing at all.
SSE_ARITH(min, EXACT)
SSE_ARITH(max, EXACT)
SSE_ARITH(cmpeq, EXACT)
SSE_ARITH(cmplt, EXACT)
SSE_ARITH(cmple, EXACT)
SSE_ARITH(cmpunord, EXACT)
SSE_ARITH(cmpneq, EXACT)
SSE_ARITH(cmpnlt, EXACT)
SSE_ARITH(cmpnle, EXACT)
SSE_ARITH(cmpord, EXACT)
SSE_BINK(haddps, "haddps", ARITH_PS)
SSE_BINK(haddpd, "haddpd", ARITH_PD)
SSE_BINK(hsubps, "hsubps", ARITH_PS)
SSE_BINK(hsubpd, "hsubpd", ARITH_PD)
SSE_BINK(addsubps, "addsubps", ARITH_PS)
SSE_BINK(addsubpd, "addsubpd", ARITH_PD)
// The approximations raise nothing: the CPU's bits rather than Unicorn's exact quotients.
SSE_BIN(rcpps, "rcpps", 0, 1)
SSE_BIN(rcpss, "rcpss", 0, 1)
SSE_BIN(rsqrtps, "rsqrtps", 0, 1)
SSE_BIN(rsqrtss, "rsqrtss", 0, 1)
// Widening is exact; narrowing may overflow, underflow or round; integers to floats
// round at most (to double from 32 bits not even that); floats to integers may not fit.
SSE_BIN(cvtps2pd, "cvtps2pd", 0, C32(s, 2))
SSE_BIN(cvtss2sd, "cvtss2sd", 0, C32(s, 1))
SSE_BIN(cvtpd2ps, "cvtpd2ps", 1, C64(s, 2) && S32(out, 2))
SSE_BIN(cvtsd2ss, "cvtsd2ss", 1, C64(s, 1) && S32(out, 1))
SSE_BIN(cvtdq2ps, "cvtdq2ps", 1, 1)
SSE_BIN(cvtdq2pd, "cvtdq2pd", 0, 1)
SSE_BIN(cvtps2dq, "cvtps2dq", 1, C32(s, 4) && R32(s, 4, I32_32))
SSE_BIN(cvttps2dq, "cvttps2dq", 1, C32(s, 4) && R32(s, 4, I32_32))
SSE_BIN(cvtpd2dq, "cvtpd2dq", 1, C64(s, 2) && R64(s, 2, I32_64))
SSE_BIN(cvttpd2dq, "cvttpd2dq", 1, C64(s, 2) && R64(s, 2, I32_64))
SSE_COMI(comiss, "comiss", C32(d, 1) && C32(s, 1))
SSE_COMI(comisd, "comisd", C64(d, 1) && C64(s, 1))
SSE_COMI(ucomiss, "ucomiss", C32(d, 1) && C32(s, 1))
SSE_COMI(ucomisd, "ucomisd", C64(d, 1) && C64(s, 1))
SSE_FROM_INT(cvtsi2ss, "cvtsi2ssl", uint32_t, 1)
SSE_FROM_INT(cvtsi2sd, "cvtsi2sdl", uint32_t, 0)
SSE_FROM_INT(cvtsq2ss, "cvtsi2ssq", uint64_t, 1)
SSE_FROM_INT(cvtsq2sd, "cvtsi2sdq", uint64_t, 1)
SSE_TO_INT(cvtss2si, "cvtss2si", int32_t, C32(s, 1) && R32(s, 1, I32_32))
SSE_TO_INT(cvtsd2si, "cvtsd2si", int32_t, C64(s, 1) && R64(s, 1, I32_64))
SSE_TO_INT(cvttss2si, "cvttss2si", int32_t, C32(s, 1) && R32(s, 1, I32_32))
SSE_TO_INT(cvttsd2si, "cvttsd2si", int32_t, C64(s, 1) && R64(s, 1, I32_64))
SSE_TO_INT(cvtss2sq, "cvtss2si", int64_t, C32(s, 1) && R32(s, 1, I64_32))
SSE_TO_INT(cvtsd2sq, "cvtsd2si", int64_t, C64(s, 1) && R64(s, 1, I64_64))
SSE_TO_INT(cvttss2sq, "cvttss2si", int64_t, C32(s, 1) && R32(s, 1, I64_32))
SSE_TO_INT(cvttsd2sq, "cvttsd2si", int64_t, C64(s, 1) && R64(s, 1, I64_64))

// roundps and its family: an invalid operation for a signalling NaN, and precision
// unless bit 3 of the immediate keeps it quiet (glibc's rint raises it, nearbyint not).
#define SSE_ROUND(name, insn, check)                                                        \
	HOST_ROUND(host_##name, insn)                                                       \
	void __real_helper_##name##_xmm_x86_64(void *env, void *d, void *s, uint32_t mode); \
	void __wrap_helper_##name##_xmm_x86_64(void *env, void *d, void *s, uint32_t mode) { \
		uintptr_t ra = (uintptr_t)__builtin_return_address(0);                      \
		uint32_t mx;                                                                \
		uint8_t out[16];                                                            \
		if (!guest_mxcsr(&mx)) {                                                    \
			__real_helper_##name##_xmm_x86_64(env, d, s, mode);                 \
			return;                                                             \
		}                                                                           \
		if (!CALM(host_##name, mx, !(mode & 8), check, d, s, out, mode))           \
			settle(env, HOST_RUN(host_##name, mx, d, s, out, mode), ra);        \
		memcpy(d, out, 16);                                                         \
	}

SSE_ROUND(roundps, "roundps", C32(s, 4))
SSE_ROUND(roundpd, "roundpd", C64(s, 2))
SSE_ROUND(roundss, "roundss", C32(s, 1))
SSE_ROUND(roundsd, "roundsd", C64(s, 1))

// ldmxcsr and fxrstor load MXCSR under a run.
void __real_helper_ldmxcsr_x86_64(void *env, uint32_t val);
void __wrap_helper_ldmxcsr_x86_64(void *env, uint32_t val) {
	__real_helper_ldmxcsr_x86_64(env, val);
	vemu_sse_forget();
}

void __real_helper_fxrstor_x86_64(void *env, uint64_t ptr);
void __wrap_helper_fxrstor_x86_64(void *env, uint64_t ptr) {
	vemu_sse_forget();
	__real_helper_fxrstor_x86_64(env, ptr);
	vemu_sse_forget();
}
