// FXSAVE images built from Unicorn's registers. Layout (Intel SDM vol. 1, table 10-2, 64-bit):
//   0 FCW   2 FSW   4 abridged FTW   6 FOP   8 FIP   16 FDP   24 MXCSR   28 MXCSR_MASK
//   32 + 16*i ST(i), 10 bytes each   160 + 16*i XMM(i)   416..511 reserved
#include <string.h>
#include "fpu.h"

// MXCSR_MASK is the mask a CPU that supports DAZ reports in the image.
#define MXCSR_MASK 0x0000ffffu

#define NREGS (7 + 8 + 16)

struct fx_raw {
	uint16_t fcw, fsw, ftw, fop;
	uint64_t fip, fdp;
	uint32_t mxcsr;
	uint8_t st[8][16];  // 10 bytes used; room for Unicorn to write whatever it likes
	uint8_t xmm[16][16];
};

static void fx_ids(int *ids, void **ptrs, struct fx_raw *r) {
	int n = 0;
	// FPSW first: it sets the stack top, which the ST(i) registers are relative to.
	ids[n] = UC_X86_REG_FPSW;  ptrs[n++] = &r->fsw;
	ids[n] = UC_X86_REG_FPCW;  ptrs[n++] = &r->fcw;
	ids[n] = UC_X86_REG_FPTAG; ptrs[n++] = &r->ftw;
	ids[n] = UC_X86_REG_FOP;   ptrs[n++] = &r->fop;
	ids[n] = UC_X86_REG_FIP;   ptrs[n++] = &r->fip;
	ids[n] = UC_X86_REG_FDP;   ptrs[n++] = &r->fdp;
	ids[n] = UC_X86_REG_MXCSR; ptrs[n++] = &r->mxcsr;
	for (int i = 0; i < 8; i++) {
		ids[n] = UC_X86_REG_ST0 + i;
		ptrs[n++] = r->st[i];
	}
	for (int i = 0; i < 16; i++) {
		ids[n] = UC_X86_REG_XMM0 + i;
		ptrs[n++] = r->xmm[i];
	}
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

uc_err vemu_fxsave(uc_engine *uc, uint8_t *img) {
	struct fx_raw r;
	int ids[NREGS];
	void *ptrs[NREGS];
	memset(&r, 0, sizeof r);
	fx_ids(ids, ptrs, &r);
	uc_err err = uc_reg_read_batch(uc, ids, ptrs, NREGS);
	if (err) return err;
	memset(img, 0, 512);
	put16(img + 0, r.fcw);
	put16(img + 2, r.fsw);
	// Unicorn's FPTAG is the full tag word, two bits per physical register (11 = empty);
	// FXSAVE keeps one bit per physical register, set when it is not empty.
	uint8_t abridged = 0;
	for (int i = 0; i < 8; i++)
		if (((r.ftw >> (2 * i)) & 3) != 3) abridged |= 1u << i;
	img[4] = abridged;
	put16(img + 6, r.fop & 0x7ff);
	put64(img + 8, r.fip);
	put64(img + 16, r.fdp);
	put32(img + 24, r.mxcsr);
	put32(img + 28, MXCSR_MASK);
	for (int i = 0; i < 8; i++) memcpy(img + 32 + 16 * i, r.st[i], 10);
	for (int i = 0; i < 16; i++) memcpy(img + 160 + 16 * i, r.xmm[i], 16);
	return UC_ERR_OK;
}

uc_err vemu_fxrstor(uc_engine *uc, const uint8_t *img) {
	struct fx_raw r;
	memset(&r, 0, sizeof r);
	r.fcw = get16(img + 0);
	r.fsw = get16(img + 2);
	uint16_t full = 0;
	for (int i = 0; i < 8; i++)
		if (!(img[4] & (1u << i))) full |= 3u << (2 * i);
	r.ftw = full;
	r.fop = get16(img + 6) & 0x7ff;
	r.fip = get64(img + 8);
	r.fdp = get64(img + 16);
	r.mxcsr = get32(img + 24) & MXCSR_MASK;
	for (int i = 0; i < 8; i++) memcpy(r.st[i], img + 32 + 16 * i, 10);
	for (int i = 0; i < 16; i++) memcpy(r.xmm[i], img + 160 + 16 * i, 16);
	int ids[NREGS];
	void *ptrs[NREGS];
	fx_ids(ids, ptrs, &r);
	return uc_reg_write_batch(uc, ids, (void *const *)ptrs, NREGS);
}
