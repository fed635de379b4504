// The x87 instructions Unicorn 2.1.1 computes wrongly, run on the host's own x87 instead.
//
// Unicorn's CPU is QEMU 5.0's, whose helpers for the transcendental and remainder
// instructions (f2xm1, fyl2x, fyl2xp1, fptan, fpatan, fsin, fcos, fsincos, fprem, fprem1)
// convert the 80-bit operands to double, call the C library and convert back: the results
// keep 53 bits of the 64 (expl, logl, powl, atan2l, fmodl of glibc and musl lose 11 bits
// without a word), fprem's partial remainder is off, and the condition codes (C1 for the
// rounding direction, C2 for an incomplete reduction or an out-of-range operand) and the
// exception flags are not the CPU's. The link step (-Wl,--wrap, see engine.go) sends
// Unicorn's calls of these helpers and of the others of the D9 F0-FF row (fxtract, fsqrt,
// frndint, fscale) here; on an x86-64 host each runs the very instruction on the host's
// x87, loaded with the guest's stack, tags, control and status words, so the guest gets
// what the hardware gives, bit for bit. So do the conversions to integers (fist, fisttp),
// which raised no flag and stored the wrong integer indefinite. Elsewhere, or outside a
// run, Unicorn's helper runs.
#include <string.h>
#include "hooks.h"

// The engine this thread runs guest code for, during vemu_run (sse.c's helpers use it too).
__thread uc_engine *vemu_fp_uc;

void vemu_fp_running(uc_engine *uc) {
	vemu_fp_uc = uc;
	// Go may have changed MXCSR while the engine stood (a signal frame, an exec).
	vemu_sse_forget();
}

enum x87_op {
	// Conversions to integers (fist, fisttp), which leave the stack to the translator.
	X87_FIST16, X87_FIST32, X87_FIST64, X87_FISTT16, X87_FISTT32, X87_FISTT64,
	X87_F2XM1, X87_FYL2X, X87_FYL2XP1, X87_FPTAN, X87_FPATAN, X87_FXTRACT, X87_FPREM,
	X87_FPREM1, X87_FSQRT, X87_FSINCOS, X87_FRNDINT, X87_FSCALE, X87_FSIN, X87_FCOS,
};

#if defined(__x86_64__)

// FSAVE image, 32-bit protected-mode format (Intel SDM vol. 1, figure 8-9): the
// environment's 28 bytes, then ST(0)..ST(7), 10 bytes each.
#define FS_CW 0
#define FS_SW 4
#define FS_TW 8
#define FS_ST 28
#define FS_SIZE 108

// Status word bits: the exception flags, the error summary and busy bits.
#define SW_EXC 0x003f
#define SW_ES 0x8080
// Stack fault, C1, and the exceptions whose unmasked forms store no result.
#define SW_SF 0x0040
#define SW_C1 0x0200
#define SW_NORESULT 0x0007
#define SW_TOP 0x3800

// host_run executes op on the host's x87 with the state in img, leaving the state after it
// there, and a conversion's integer in *out. The C calling convention leaves the x87
// stack empty at a call and its control word to the callee to keep, so that is all there
// is to put back: fnsave leaves the stack empty, and the control word is restored.
static void host_run(uint8_t *img, enum x87_op op, int64_t *out) {
	int16_t i16 = 0;
	int32_t i32 = 0;
	uint16_t cw;
	__asm__ volatile("fnstcw %0" : "=m"(cw));
	__asm__ volatile("frstor %0" : : "m"(*(uint8_t(*)[FS_SIZE])img));
	switch (op) {
	case X87_FIST16: __asm__ volatile("fistps %0" : "=m"(i16)); break;
	case X87_FIST32: __asm__ volatile("fistpl %0" : "=m"(i32)); break;
	case X87_FIST64: __asm__ volatile("fistpll %0" : "=m"(*out)); break;
	case X87_FISTT16: __asm__ volatile("fisttps %0" : "=m"(i16)); break;
	case X87_FISTT32: __asm__ volatile("fisttpl %0" : "=m"(i32)); break;
	case X87_FISTT64: __asm__ volatile("fisttpll %0" : "=m"(*out)); break;
	case X87_F2XM1: __asm__ volatile("f2xm1"); break;
	case X87_FYL2X: __asm__ volatile("fyl2x"); break;
	case X87_FYL2XP1: __asm__ volatile("fyl2xp1"); break;
	case X87_FPTAN: __asm__ volatile("fptan"); break;
	case X87_FPATAN: __asm__ volatile("fpatan"); break;
	case X87_FXTRACT: __asm__ volatile("fxtract"); break;
	case X87_FPREM: __asm__ volatile("fprem"); break;
	case X87_FPREM1: __asm__ volatile("fprem1"); break;
	case X87_FSQRT: __asm__ volatile("fsqrt"); break;
	case X87_FSINCOS: __asm__ volatile("fsincos"); break;
	case X87_FRNDINT: __asm__ volatile("frndint"); break;
	case X87_FSCALE: __asm__ volatile("fscale"); break;
	case X87_FSIN: __asm__ volatile("fsin"); break;
	case X87_FCOS: __asm__ volatile("fcos"); break;
	}
	__asm__ volatile("fnsave %0" : "=m"(*(uint8_t(*)[FS_SIZE])img));
	__asm__ volatile("fldcw %0" : : "m"(cw));
	if (op == X87_FIST16 || op == X87_FISTT16) *out = i16;
	if (op == X87_FIST32 || op == X87_FISTT32) *out = i32;
}

// x87_host runs op for the engine this thread runs, and says whether it did. The
// instructions read ST(0) and ST(1) and write the new ST(0) and ST(1) only: those that
// push leave the old ST(0) in ST(1), those that pop the old ST(2). So ST(0) to ST(2) go
// to the host, with the tags (which say whether a push overflows), and ST(0) and ST(1)
// come back.
static int x87_host(enum x87_op op, int64_t *out) {
	uc_engine *uc = vemu_fp_uc;
	if (!uc) return 0;
	// FPSW first: it sets the stack top, which ST(i) are relative to.
	uint16_t sw, tw, cw;
	uint8_t st[3][16];
	int ids[6] = {UC_X86_REG_FPSW, UC_X86_REG_FPTAG, UC_X86_REG_ST0, UC_X86_REG_ST1,
		      UC_X86_REG_ST2, UC_X86_REG_FPCW};
	void *ptrs[6] = {&sw, &tw, st[0], st[1], st[2], &cw};
	if (uc_reg_read_batch(uc, ids, ptrs, 6) != UC_ERR_OK) return 0;

	uint8_t img[FS_SIZE];
	memset(img, 0, sizeof img);
	// Every exception masked and none pending, so that the host never traps: the flags
	// the instruction raises are the guest's, and the summary is worked out below.
	uint16_t hcw = cw | SW_EXC, hsw = sw & ~SW_ES;
	memcpy(img + FS_CW, &hcw, 2);
	memcpy(img + FS_SW, &hsw, 2);
	memcpy(img + FS_TW, &tw, 2);
	for (int i = 0; i < 3; i++) memcpy(img + FS_ST + 10 * i, st[i], 10);

	host_run(img, op, out);

	uint16_t before = sw;
	memcpy(&sw, img + FS_SW, 2);
	memcpy(&tw, img + FS_TW, 2);
	sw &= ~SW_ES;
	if (sw & SW_EXC & ~cw) sw |= SW_ES;
	if (op <= X87_FISTT64) {
		// The host's conversion popped; the translator pops for the guest (or not: fist
		// keeps the value), so only the status word's flags and codes come back.
		sw = (sw & ~SW_TOP) | (before & SW_TOP);
		return uc_reg_write_batch(uc, ids, (void *const *)ptrs, 1) == UC_ERR_OK;
	}
	if (sw & SW_NORESULT & ~cw) {
		// An unmasked invalid-operation, denormal or divide-by-zero exception leaves the
		// stack as it was; the next waiting instruction raises it.
		sw = (before & ~SW_C1) | (sw & (SW_EXC | SW_SF | SW_C1 | SW_ES));
		return uc_reg_write_batch(uc, ids, (void *const *)ptrs, 1) == UC_ERR_OK;
	}
	memcpy(st[0], img + FS_ST, 10);
	memcpy(st[1], img + FS_ST + 10, 10);
	// Not FPCW: the guest's own stays. Not the instruction and data pointers either:
	// the host's would tell the guest where vemu's code lies.
	return uc_reg_write_batch(uc, ids, (void *const *)ptrs, 4) == UC_ERR_OK;
}

#else

static int x87_host(enum x87_op op, int64_t *out) {
	(void)op;
	(void)out;
	return 0;
}

#endif

#define X87_WRAP(name, op)                                                                 \
	void __real_helper_##name##_x86_64(void *env);                                     \
	void __wrap_helper_##name##_x86_64(void *env) {                                    \
		int64_t out;                                                               \
		if (!x87_host(op, &out)) __real_helper_##name##_x86_64(env);               \
	}

// The conversions return what the translator stores.
#define X87_WRAP_INT(name, type, op)                                                       \
	type __real_helper_##name##_x86_64(void *env);                                     \
	type __wrap_helper_##name##_x86_64(void *env) {                                    \
		int64_t out;                                                               \
		if (!x87_host(op, &out)) return __real_helper_##name##_x86_64(env);        \
		return (type)out;                                                          \
	}

X87_WRAP_INT(fist_ST0, int32_t, X87_FIST16)
X87_WRAP_INT(fistl_ST0, int32_t, X87_FIST32)
X87_WRAP_INT(fistll_ST0, int64_t, X87_FIST64)
X87_WRAP_INT(fistt_ST0, int32_t, X87_FISTT16)
X87_WRAP_INT(fisttl_ST0, int32_t, X87_FISTT32)
X87_WRAP_INT(fisttll_ST0, int64_t, X87_FISTT64)
X87_WRAP(f2xm1, X87_F2XM1)
X87_WRAP(fyl2x, X87_FYL2X)
X87_WRAP(fyl2xp1, X87_FYL2XP1)
X87_WRAP(fptan, X87_FPTAN)
X87_WRAP(fpatan, X87_FPATAN)
X87_WRAP(fxtract, X87_FXTRACT)
X87_WRAP(fprem, X87_FPREM)
X87_WRAP(fprem1, X87_FPREM1)
X87_WRAP(fsqrt, X87_FSQRT)
X87_WRAP(fsincos, X87_FSINCOS)
X87_WRAP(frndint, X87_FRNDINT)
X87_WRAP(fscale, X87_FSCALE)
X87_WRAP(fsin, X87_FSIN)
X87_WRAP(fcos, X87_FCOS)
