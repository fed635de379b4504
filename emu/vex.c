// VEX-encoded instructions raise #UD, as on a CPU without AVX.
//
// vemu's CPU does not advertise AVX, yet Unicorn 2.1.1's translator decodes VEX prefixes
// whatever the model and runs the SSE form of the instruction, dropping the third operand:
// a program built for AVX that does not ask CPUID (gcc -mavx, or -march=native on a host
// with AVX) got wrong results where a CPU without AVX raises SIGILL (vaddps %xmm2, %xmm1,
// %xmm0 of {1,2,3,4} and {10,20,30,40} left {10,20,30,40}). Unicorn's API shows no
// instruction as it is translated, so the link (-Wl,--wrap, see engine.go) puts two
// functions in the translator's way: translator_loop's per-instruction callback notes where
// each instruction starts, and the translator's reads of code bytes, when one is the first
// byte of an instruction whose opcode is a VEX prefix (after any legacy or REX prefixes),
// answer an opcode that is invalid in 64-bit mode instead, so that the translator itself
// raises #UD at the instruction. BMI1's instructions (andn, bextr, blsi, blsmsk, blsr),
// which vemu advertises, are VEX-encoded too and keep running.
#include <stdint.h>
#include <string.h>

// QEMU's, linked from libunicorn.
uint8_t __real_cpu_ldub_code_x86_64(void *env, uint64_t addr);
void __real_translator_loop_x86_64(const void *ops, void *db, void *cpu, void *tb, int max_insns);

// TranslatorOps: seven callbacks, translate_insn the fifth. DisasContextBase starts with
// the block, the first instruction's address and the next one's, the instruction being
// translated while translate_insn runs.
#define OPS_N 7
#define OPS_TRANSLATE 4
#define DB_PC_NEXT 16

typedef void (*insn_fn)(void *db, void *cpu);

// This thread's translation: the callbacks with translate_insn replaced, the original,
// and the address of the instruction being translated (or none).
static __thread void *vex_ops[OPS_N];
static __thread insn_fn vex_translate;
static __thread uint64_t vex_insn = UINT64_MAX;

// An opcode byte that is invalid in 64-bit mode (push es).
#define INVALID_OPCODE 0x06

static void translate_insn(void *db, void *cpu) {
	uint64_t pc;
	memcpy(&pc, (char *)db + DB_PC_NEXT, sizeof pc);
	vex_insn = pc;
	vex_translate(db, cpu);
	vex_insn = UINT64_MAX;
}

void __wrap_translator_loop_x86_64(const void *ops, void *db, void *cpu, void *tb, int max_insns) {
	// A translation that faulted on a code page left its instruction's address behind.
	vex_insn = UINT64_MAX;
	memcpy(vex_ops, ops, sizeof vex_ops);
	vex_translate = (insn_fn)vex_ops[OPS_TRANSLATE];
	vex_ops[OPS_TRANSLATE] = (void *)translate_insn;
	__real_translator_loop_x86_64(vex_ops, db, cpu, tb, max_insns);
}

static int legacy_or_rex_prefix(uint8_t b) {
	switch (b) {
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
		return 1;
	}
	return (b & 0xf0) == 0x40;
}

// bmi1 says whether the three-byte VEX prefix at a starts one of BMI1's instructions:
// map 0F38, no operand-size prefix, 128-bit length, opcode F2 (andn), F3 (blsr, blsmsk,
// blsi) or F7 (bextr).
static int bmi1(void *env, uint64_t a) {
	uint8_t map = __real_cpu_ldub_code_x86_64(env, a + 1) & 0x1f;
	if (map != 2) return 0;
	uint8_t wvlpp = __real_cpu_ldub_code_x86_64(env, a + 2);
	if (wvlpp & 0x07) return 0;
	uint8_t op = __real_cpu_ldub_code_x86_64(env, a + 3);
	return op == 0xf2 || op == 0xf3 || op == 0xf7;
}

uint8_t __wrap_cpu_ldub_code_x86_64(void *env, uint64_t addr) {
	uint8_t b = __real_cpu_ldub_code_x86_64(env, addr);
	if (addr != vex_insn) return b;
	vex_insn = UINT64_MAX;
	// Every byte read here is one of the instruction's own, which the translator reads
	// anyway: prefixes, then the VEX prefix and what it needs.
	uint64_t a = addr;
	uint8_t c = b;
	for (int n = 0; legacy_or_rex_prefix(c) && n < 14; n++) c = __real_cpu_ldub_code_x86_64(env, ++a);
	if (c != 0xc4 && c != 0xc5) return b;
	if (c == 0xc4 && a == addr && bmi1(env, a)) return b;
	return INVALID_OPCODE;
}
