// C halves of the engine's hooks. The hot one, the SYSCALL hook, reads the syscall
// registers in one batch, calls Go once, and writes rax, rcx and r11 in one batch.
#include <stdlib.h>
#include <string.h>
#include "hooks.h"
#include "_cgo_export.h"

struct vemu_state *vemu_state_new(uint64_t id) {
	struct vemu_state *st = calloc(1, sizeof *st);
	if (st == NULL) return NULL;
	st->id = id;
	int rd[9] = {UC_X86_REG_RAX, UC_X86_REG_RDI, UC_X86_REG_RSI, UC_X86_REG_RDX, UC_X86_REG_R10,
		     UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_RIP, UC_X86_REG_EFLAGS};
	memcpy(st->sys_read_ids, rd, sizeof rd);
	st->sys_read_ptrs[0] = &st->sys.nr;
	for (int i = 0; i < 6; i++) st->sys_read_ptrs[1 + i] = &st->sys.args[i];
	st->sys_read_ptrs[7] = &st->sys.rip;
	st->sys_read_ptrs[8] = &st->sys.rflags;
	int wr[3] = {UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_R11};
	memcpy(st->sys_write_ids, wr, sizeof wr);
	st->sys_write_ptrs[0] = &st->sys.ret;
	st->sys_write_ptrs[1] = &st->rcx;
	st->sys_write_ptrs[2] = &st->r11;
	return st;
}

static void on_syscall(uc_engine *uc, void *user) {
	struct vemu_state *st = user;
	st->syscalls++;
	st->sys.rflags = 0;
	uc_reg_read_batch(uc, st->sys_read_ids, st->sys_read_ptrs, 9);
	st->sys.stop = 0;
	uint64_t nr = st->sys.nr;
	if (nr < VEMU_FAST_MAX && st->fast_ok[nr] && !__atomic_load_n(&st->kick, __ATOMIC_RELAXED)) {
		st->fast_hits[nr]++;
		st->sys.ret = st->fast_val[nr];
	} else {
		st->sys.ret = nr;
		vemuGoSyscall(st->id);
	}
	// Unicorn adds the instruction's length to rip after this hook returns;
	// SYSCALL itself puts the return address in rcx and rflags in r11.
	st->rcx = st->sys.rip + 2;
	st->r11 = st->sys.rflags & 0x3c7fd7; // user-visible flags, RF cleared
	uc_reg_write_batch(uc, st->sys_write_ids, st->sys_write_ptrs, 3);
	if (st->sys.stop) uc_emu_stop(uc);
}

static bool on_mem_invalid(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
			   int64_t value, void *user) {
	struct vemu_state *st = user;
	(void)value;
	st->event = 1;
	st->mem_type = type;
	st->fault_addr = addr;
	st->fault_size = size;
	uc_reg_read(uc, UC_X86_REG_RIP, &st->fault_rip);
	return false;
}

static void on_intr(uc_engine *uc, uint32_t intno, void *user) {
	struct vemu_state *st = user;
	st->event = 2;
	st->intno = intno;
	uc_reg_read(uc, UC_X86_REG_RIP, &st->intr_rip);
	uc_emu_stop(uc);
}

static void on_code(uc_engine *uc, uint64_t addr, uint32_t size, void *user) {
	struct vemu_state *st = user;
	(void)size;
	vemuGoCode(st->id, addr);
}

// on_tlb_fill maps every virtual page to the same physical address: the guest's address
// space is flat, and permissions come from the mapped regions. Virtual TLB mode lets
// addresses above 2^48 (the vsyscall page) be mapped; without a fill hook every access in
// that mode takes the slow path (measured: 40x slower loads and stores).
static bool on_tlb_fill(uc_engine *uc, uint64_t addr, uc_mem_type type, uc_tlb_entry *r, void *user) {
	(void)uc; (void)type; (void)user;
	r->paddr = addr & ~(uint64_t)0xfff;
	r->perms = UC_PROT_ALL;
	return true;
}

uc_err vemu_install_hooks(uc_engine *uc, struct vemu_state *st) {
	uc_hook h;
	uc_err err0 = uc_hook_add(uc, &h, UC_HOOK_TLB_FILL, (void *)on_tlb_fill, st, 1, 0);
	if (err0) return err0;
	uc_err err = uc_hook_add(uc, &h, UC_HOOK_INSN, (void *)on_syscall, st, 1, 0, UC_X86_INS_SYSCALL);
	if (err) return err;
	err = uc_hook_add(uc, &h, UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_PROT, (void *)on_mem_invalid, st, 1, 0);
	if (err) return err;
	return uc_hook_add(uc, &h, UC_HOOK_INTR, (void *)on_intr, st, 1, 0);
}

uc_err vemu_hook_code_range(uc_engine *uc, struct vemu_state *st, uint64_t begin, uint64_t end, uc_hook *hh) {
	return uc_hook_add(uc, hh, UC_HOOK_CODE, (void *)on_code, st, begin, end);
}

uc_err vemu_tlb_virtual(uc_engine *uc) { return uc_ctl_tlb_mode(uc, UC_TLB_VIRTUAL); }

uc_err vemu_remove_cache(uc_engine *uc, uint64_t begin, uint64_t end) {
	return uc_ctl_remove_cache(uc, begin, end);
}

uc_err vemu_exits_none(uc_engine *uc) {
	uc_err err = uc_ctl_exits_enable(uc);
	if (err) return err;
	return uc_ctl_set_exits(uc, NULL, 0);
}

uc_err vemu_reg_read_n(uc_engine *uc, int *ids, uint64_t *vals, int n) {
	void *ptrs[64];
	if (n > 64) return UC_ERR_ARG;
	for (int i = 0; i < n; i++) ptrs[i] = &vals[i];
	return uc_reg_read_batch(uc, ids, ptrs, n);
}

uc_err vemu_reg_write_n(uc_engine *uc, int *ids, uint64_t *vals, int n) {
	void *ptrs[64];
	if (n > 64) return UC_ERR_ARG;
	for (int i = 0; i < n; i++) ptrs[i] = &vals[i];
	return uc_reg_write_batch(uc, ids, (void *const *)ptrs, n);
}

uint64_t vemu_host_tsc(void) {
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

// on_block runs before each translated block: it stops the engine when another thread has
// asked for it (kick) or when the quantum of blocks is used up (deterministic preemption).
static void on_block(uc_engine *uc, uint64_t addr, uint32_t size, void *user) {
	struct vemu_state *st = user;
	(void)size;
	int stop = 0;
	if (__atomic_load_n(&st->kick, __ATOMIC_RELAXED)) {
		__atomic_store_n(&st->kick, 0, __ATOMIC_RELAXED);
		stop = 1;
	}
	if (st->quantum && ++st->blocks >= st->quantum) {
		st->blocks = 0;
		stop = 1;
	}
	if (stop) {
		st->event = 5;
		// A stop requested here lets this block run while rip stays at its start,
		// so the block would run twice (measured in 2.1.1). Writing rip makes Unicorn
		// leave the block before it runs: the stop is then exact.
		uc_reg_write(uc, UC_X86_REG_RIP, &addr);
		uc_emu_stop(uc);
	}
}

uc_err vemu_hook_quantum(uc_engine *uc, struct vemu_state *st) {
	uc_hook h;
	return uc_hook_add(uc, &h, UC_HOOK_BLOCK, (void *)on_block, st, 1, 0);
}
