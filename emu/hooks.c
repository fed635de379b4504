// C halves of the engine's hooks. The hot one, the SYSCALL hook, reads the number, rip
// and the flags in one batch, answers the calls it may itself (getpid, gettid), reads the
// arguments and calls Go once for the others, and writes rax, rcx and r11 in one batch.
#include <stdlib.h>
#include <string.h>
#include "hooks.h"
#include "_cgo_export.h"

struct vemu_state *vemu_state_new(uint64_t id) {
	struct vemu_state *st = calloc(1, sizeof *st);
	if (st == NULL) return NULL;
	st->id = id;
	// What every call needs first (the number, and what rcx and r11 get), then the
	// arguments, which only calls answered in Go read.
	int rd[9] = {UC_X86_REG_RAX, UC_X86_REG_RIP, UC_X86_REG_EFLAGS, UC_X86_REG_RDI, UC_X86_REG_RSI,
		     UC_X86_REG_RDX, UC_X86_REG_R10, UC_X86_REG_R8, UC_X86_REG_R9};
	memcpy(st->sys_read_ids, rd, sizeof rd);
	st->sys_read_ptrs[0] = &st->sys.nr;
	st->sys_read_ptrs[1] = &st->sys.rip;
	st->sys_read_ptrs[2] = &st->sys.rflags;
	for (int i = 0; i < 6; i++) st->sys_read_ptrs[3 + i] = &st->sys.args[i];
	int wr[3] = {UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_R11};
	memcpy(st->sys_write_ids, wr, sizeof wr);
	st->sys_write_ptrs[0] = &st->sys.ret;
	st->sys_write_ptrs[1] = &st->rcx;
	st->sys_write_ptrs[2] = &st->r11;
	return st;
}

// enter_run and leave_run bracket the time the engine runs guest code, when the TLB fill
// hook may refuse an access (see struct vemu_state); a hook calls leave_run before it calls
// Go, which may map and unmap memory.
static void enter_run(uc_engine *uc, struct vemu_state *st) {
	if (st->flush_grant) {
		st->flush_grant = 0;
		st->grows = 0;
		uc_ctl_flush_tlb(uc);
	}
	st->running = 1;
}

static void leave_run(uc_engine *uc, struct vemu_state *st) {
	(void)uc;
	st->running = 0;
}

static void on_syscall(uc_engine *uc, void *user) {
	struct vemu_state *st = user;
	st->syscalls++;
	st->sys.rflags = 0;
	uc_reg_read_batch(uc, st->sys_read_ids, st->sys_read_ptrs, 3);
	st->sys.stop = 0;
	uint64_t nr = st->sys.nr;
	if (nr < VEMU_FAST_MAX && st->fast_ok[nr] && !__atomic_load_n(&st->kick, __ATOMIC_RELAXED)) {
		st->fast_hits[nr]++;
		st->sys.ret = st->fast_val[nr];
	} else {
		uc_reg_read_batch(uc, st->sys_read_ids + 3, st->sys_read_ptrs + 3, 6);
		st->sys.ret = nr;
		leave_run(uc, st);
		vemuGoSyscall(st->id);
		enter_run(uc, st);
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
	if (st->event == VEMU_EV_PORTIO) return false; // a port I/O fault came first in this block
	st->event = VEMU_EV_FAULT;
	st->mem_type = type;
	st->fault_addr = addr;
	st->fault_size = size;
	uc_reg_read(uc, UC_X86_REG_RIP, &st->fault_rip);
	return false;
}

static void on_intr(uc_engine *uc, uint32_t intno, void *user) {
	struct vemu_state *st = user;
	if (st->event == VEMU_EV_PORTIO) {
		// A port I/O fault came first in this block (see io_fault).
		uc_emu_stop(uc);
		return;
	}
	st->event = VEMU_EV_INTR;
	st->intno = intno;
	uc_reg_read(uc, UC_X86_REG_RIP, &st->intr_rip);
	uc_emu_stop(uc);
}

// Port I/O: Unicorn never checks the I/O permission (its TSS check does nothing), so at
// privilege level 3 in and out still run; Linux gives a general protection fault. These
// hooks make the access do nothing and stop the engine with VEMU_EV_PORTIO. The hooks cannot
// stop the instruction's translated block where it is: the instructions after it in the
// block still run, and rip here is the block's start, from which Go finds the instruction.
static void io_fault(uc_engine *uc, struct vemu_state *st) {
	st->event = VEMU_EV_PORTIO;
	uc_reg_read(uc, UC_X86_REG_RIP, &st->fault_rip);
	uc_emu_stop(uc);
}

static uint32_t on_in(uc_engine *uc, uint32_t port, int size, void *user) {
	struct vemu_state *st = user;
	uint64_t rax = 0;
	(void)port; (void)size;
	uc_reg_read(uc, UC_X86_REG_RAX, &rax);
	io_fault(uc, st);
	return (uint32_t)rax; // in writes al, ax or eax: leave them as they were
}

static void on_out(uc_engine *uc, uint32_t port, int size, uint32_t value, void *user) {
	(void)port; (void)size; (void)value;
	io_fault(uc, user);
}

static void on_code(uc_engine *uc, uint64_t addr, uint32_t size, void *user) {
	struct vemu_state *st = user;
	(void)size;
	leave_run(uc, st);
	vemuGoCode(st->id, addr);
	enter_run(uc, st);
}

// note_exec records that the guest page page may execute (see xfetch in hooks.h).
static void note_exec(struct vemu_state *st, uint64_t page) {
	if (!st->xfetch_lost && !vemu_ps_add(&st->xfetch, page, VEMU_XFETCH_MAX)) st->xfetch_lost = 1;
}

// on_tlb_fill maps a virtual page to the physical address its table entry gives: the same
// address, or one in a window of shared memory (mem.go). Virtual TLB mode lets addresses
// above 2^48 (the vsyscall page) be mapped; without a fill hook every access in that mode
// takes the slow path (measured: 40x slower loads and stores). The hook grants a page the
// permissions of its mapped range, and refuses an access the range does not allow (or a
// page nothing maps): Unicorn then leaves the translated code through its exception path,
// which restores rip and the lazily kept flags of the faulting instruction exactly,
// wherever it sits in a chain of blocks. (Were the hook to grant every access, Unicorn's
// own checks would stop the engine after the access with rip at the start of the chain.)
// It runs on TLB misses only.
//
// It also lets the TLB grow. QEMU's TLB starts with 256 entries (1 MiB of guest memory)
// and resizes itself only when it is flushed, by how full it was; vemu rarely flushes, so
// a program working over tens of MiB missed on nearly every new page (a 32 M-byte sieve:
// 6 million misses). So every VEMU_TLB_GROW data fills while guest code runs, the hook
// empties the TLB before granting: a TLB that was more than 70% full doubles. QEMU's
// callers look their entry up again after a fill for that reason; fetches are left alone,
// as translation may hold its page. It stops after VEMU_TLB_GROWS times (8 Ki entries,
// 32 MiB of guest memory, 384 KiB of tables) until the TLB is emptied for another reason,
// when QEMU may shrink it: a larger TLB makes random loads over a large array slower
// again, as its own entries miss the host's caches (a pointer chase over 64 MiB, in a C
// probe and in vemu: 20-25% more time with 16-128 Ki entries than with 256, ~10% with
// 8 Ki), while strided work gains up to that size (a 32 M-byte sieve: half the time).
static bool on_tlb_fill(uc_engine *uc, uint64_t addr, uc_mem_type type, uc_tlb_entry *r, void *user) {
	struct vemu_state *st = user;
	uint64_t need = UC_PROT_READ;
	if (type == UC_MEM_WRITE) need = UC_PROT_WRITE;
	if (type == UC_MEM_FETCH) need = UC_PROT_EXEC;
	uint64_t word = 0;
	uint32_t i;
	const struct vemu_pt_node *x = vemu_pt_seek(&st->ptab, addr, &i);
	if (x && x->u.r.begin[i] <= addr) word = x->u.r.perms[i];
	uint64_t perms = word & VEMU_PT_PROT;
	if (perms & need) {
		const uint64_t wx = UC_PROT_WRITE | UC_PROT_EXEC;
		uint64_t page = addr & ~(uint64_t)0xfff;
		uint64_t shared = perms & VEMU_PT_SHARED;
		if (((perms & wx) == wx || (shared && (perms & wx))) && st->running && st->smc_step != page &&
		    !vemu_smc_grant(uc, st, page, page + (word & VEMU_PT_OFF), shared != 0, type, &perms)) {
			st->tlb_fault = 1;
			st->tlb_type = type;
			st->tlb_page = page;
			return false;
		}
		r->paddr = (addr & ~(uint64_t)0xfff) + (word & VEMU_PT_OFF);
		r->perms = (uc_prot)(perms & UC_PROT_ALL);
		if (perms & UC_PROT_EXEC) note_exec(st, page);
		if (++st->fills >= VEMU_TLB_GROW && st->running && type != UC_MEM_FETCH && st->grows < VEMU_TLB_GROWS) {
			st->fills = 0;
			st->grows++;
			uc_ctl_flush_tlb(uc);
		}
		return true;
	}
	if (!st->running && type == UC_MEM_READ && addr >= st->desc_begin && addr < st->desc_end) {
		// A segment register written from Go (LoadSegment): the descriptor read, in the
		// kernel's access mode; nothing else reads through the TLB outside guest code.
		r->paddr = addr & ~(uint64_t)0xfff;
		r->perms = UC_PROT_READ;
		return true;
	}
	if (!st->running) {
		r->paddr = (addr & ~(uint64_t)0xfff) + (word & VEMU_PT_OFF);
		r->perms = (uc_prot)((perms | need) & UC_PROT_ALL);
		if ((perms | need) & UC_PROT_EXEC) note_exec(st, addr & ~(uint64_t)0xfff);
		st->flush_grant = 1;
		return true;
	}
	if (type == UC_MEM_READ && st->desc_grant != 0 && st->desc_grant == (addr & ~(uint64_t)0xfff)) {
		// The descriptor read of a segment load that Go checked (desc.go): once.
		st->desc_grant = 0;
		r->paddr = addr & ~(uint64_t)0xfff;
		r->perms = UC_PROT_READ;
		return true;
	}
	st->tlb_fault = 1;
	st->tlb_type = type;
	st->tlb_page = addr & ~(uint64_t)0xfff;
	return false;
}

// on_cpuid answers CPUID for the leaves in st->cpuid and lets the model answer the others.
// It returns 1 when it has written the result (Unicorn then skips the instruction).
static int on_cpuid(uc_engine *uc, void *user) {
	struct vemu_state *st = user;
	uint64_t rax, rcx;
	st->cpuid_calls++;
	uc_reg_read(uc, UC_X86_REG_RAX, &rax);
	uc_reg_read(uc, UC_X86_REG_RCX, &rcx);
	for (uint32_t i = 0; i < st->ncpuid && i < VEMU_CPUID_MAX; i++) {
		struct vemu_cpuid_leaf *l = &st->cpuid[i];
		if (l->leaf != (uint32_t)rax || (!l->any_sub && l->sub != (uint32_t)rcx)) continue;
		// CPUID writes the 32-bit registers, which clears the upper halves.
		uint64_t v[4] = {l->r[0], l->r[1], l->r[2], l->r[3]};
		int ids[4] = {UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX};
		void *ptrs[4] = {&v[0], &v[1], &v[2], &v[3]};
		uc_reg_write_batch(uc, ids, ptrs, 4);
		return 1;
	}
	return 0;
}

uc_err vemu_install_hooks(uc_engine *uc, struct vemu_state *st) {
	uc_hook h;
	uc_err errc = uc_hook_add(uc, &h, UC_HOOK_INSN, (void *)on_cpuid, st, 1, 0, UC_X86_INS_CPUID);
	if (errc) return errc;
	uc_err err0 = uc_hook_add(uc, &h, UC_HOOK_TLB_FILL, (void *)on_tlb_fill, st, 1, 0);
	if (err0) return err0;
	uc_err err = uc_hook_add(uc, &h, UC_HOOK_INSN, (void *)on_syscall, st, 1, 0, UC_X86_INS_SYSCALL);
	if (err) return err;
	err = uc_hook_add(uc, &h, UC_HOOK_MEM_UNMAPPED | UC_HOOK_MEM_PROT, (void *)on_mem_invalid, st, 1, 0);
	if (err) return err;
	err = uc_hook_add(uc, &h, UC_HOOK_INSN, (void *)on_in, st, 1, 0, UC_X86_INS_IN);
	if (err) return err;
	err = uc_hook_add(uc, &h, UC_HOOK_INSN, (void *)on_out, st, 1, 0, UC_X86_INS_OUT);
	if (err) return err;
	return uc_hook_add(uc, &h, UC_HOOK_INTR, (void *)on_intr, st, 1, 0);
}

uc_err vemu_hook_code_range(uc_engine *uc, struct vemu_state *st, uint64_t begin, uint64_t end, uc_hook *hh) {
	return uc_hook_add(uc, hh, UC_HOOK_CODE, (void *)on_code, st, begin, end);
}

// The CPU's "exception in flight" (QEMU's old_exception, which decides whether a second
// exception becomes a double fault) is reset only when QEMU delivers an exception through
// the IDT itself; Unicorn hands exceptions to the interrupt hook instead and never resets
// it. So after one general protection fault, divide error or page fault, the next one
// arrives as a double fault (vector 8), and the one after stops the CPU for good. No API
// reaches that field: vemu finds it in the saved CPU context by watching it take the
// values -1, 0 and 13 (below), and resets it after every exception (vemu_clear_exception).
static void stop_on_intr(uc_engine *uc, uint32_t intno, void *user);

// It also finds the error code the general protection fault pushed (0x120: the selector
// 0x123 without its privilege bits), where the two contexts before hold 0; -1 when that is
// not one place.
static int find_old_exception(uc_engine *uc, int *off, int *err_off) {
	// 0x10: xor ecx, ecx; div ecx (divide error)
	// 0x20: mov eax, 0x123; mov ds, eax (general protection: no such descriptor)
	static const uint8_t code[] = {
		[0x10] = 0x31, 0xc9, 0xf7, 0xf1, 0xf4,
		[0x20] = 0xb8, 0x23, 0x01, 0x00, 0x00, 0x8e, 0xd8, 0xf4,
	};
	const uint64_t page = 0x1000;
	size_t size = uc_context_size(uc);
	uc_context *ctx[3] = {0};
	uc_hook h = 0;
	int found = 0, found_err = 0;
	uc_err err = uc_mem_map(uc, page, 0x1000, UC_PROT_READ | UC_PROT_EXEC);
	if (err) return err;
	if ((err = uc_mem_write(uc, page, code, sizeof code))) goto out;
	if ((err = uc_hook_add(uc, &h, UC_HOOK_INTR, (void *)stop_on_intr, NULL, 1, 0))) goto out;
	for (int i = 0; i < 3; i++)
		if ((err = uc_context_alloc(uc, &ctx[i]))) goto out;
	if ((err = uc_context_save(uc, ctx[0]))) goto out;
	if ((err = uc_emu_start(uc, page + 0x10, 0, 0, 0)) || (err = uc_context_save(uc, ctx[1])) ||
	    (err = uc_context_restore(uc, ctx[0])) ||
	    (err = uc_emu_start(uc, page + 0x20, 0, 0, 0)) || (err = uc_context_save(uc, ctx[2])) ||
	    (err = uc_context_restore(uc, ctx[0])))
		goto out;
	const char *a = (const char *)ctx[0], *b = (const char *)ctx[1], *c = (const char *)ctx[2];
	for (size_t i = 0; i + 4 <= size; i += 4) {
		int32_t va, vb, vc;
		memcpy(&va, a + i, 4);
		memcpy(&vb, b + i, 4);
		memcpy(&vc, c + i, 4);
		if (va == -1 && vb == 0 && vc == 13) {
			*off = (int)i;
			found++;
		}
		if (va == 0 && vb == 0 && vc == 0x120) {
			*err_off = (int)i;
			found_err++;
		}
	}
	if (found != 1) err = UC_ERR_EXCEPTION;
	if (found_err != 1) *err_off = -1;
out:
	if (h) uc_hook_del(uc, h);
	for (int i = 0; i < 3; i++)
		if (ctx[i]) uc_context_free(ctx[i]);
	uc_mem_unmap(uc, page, 0x1000);
	uc_ctl_remove_cache(uc, page, page + 0x1000);
	return err;
}

static void stop_on_intr(uc_engine *uc, uint32_t intno, void *user) {
	(void)intno; (void)user;
	uc_emu_stop(uc);
}

uc_err vemu_clear_exception(uc_engine *uc, struct vemu_state *st) {
	uc_err err = uc_context_save(uc, st->scratch);
	if (err) return err;
	int32_t none = -1;
	memcpy((char *)st->scratch + st->old_exception_off, &none, 4);
	st->error_code = 0;
	if (st->error_code_off >= 0) memcpy(&st->error_code, (char *)st->scratch + st->error_code_off, 4);
	return uc_context_restore(uc, st->scratch);
}

// vemu_desc_tables maps the host memory of the descriptor tables, size bytes at host, to
// [base, base+size) and points the CPU's GDTR (base, gdt_limit) and LDTR (base+ldt_off,
// ldt_limit) at it. Guest code never reaches those pages (see on_tlb_fill): they hold
// vemu's copy of what Linux keeps in its GDT and the process's LDT, which the CPU reads
// on a segment load.
uc_err vemu_desc_tables(uc_engine *uc, struct vemu_state *st, uint64_t base, uint64_t size, uintptr_t host,
			uint32_t gdt_limit, uint64_t ldt_off, uint32_t ldt_limit) {
	uc_err err = uc_mem_map_ptr(uc, base, size, UC_PROT_READ, (void *)host);
	if (err) return err;
	uc_x86_mmr gdtr = {0, base, gdt_limit, 0};
	// An LDT descriptor's attributes: present, type 2 (LDT).
	uc_x86_mmr ldtr = {0x50, base + ldt_off, ldt_limit, 0x8200};
	if ((err = uc_reg_write(uc, UC_X86_REG_GDTR, &gdtr)) || (err = uc_reg_write(uc, UC_X86_REG_LDTR, &ldtr)))
		return err;
	st->desc_begin = base;
	st->desc_end = base + size;
	return UC_ERR_OK;
}

// vemu_user_mode puts the CPU at privilege level 3, where Linux runs programs: the
// translator then raises a general protection fault (vector 13) for every privileged or
// I/O instruction (hlt, cli, in, out, moves to and from control and debug registers,
// rdmsr, lgdt...) instead of executing it. No register write sets the privilege level,
// so the CPU leaves ring 0 the way Linux does, with a sysretq, here from a scratch page
// to an unmapped address (the run stops on the fetch there). It loads CS 0x33 and SS
// 0x2b, Linux's user selectors. Call it on a new engine before anything is mapped and
// before the hooks and the TLB mode are set.
uc_err vemu_user_mode(uc_engine *uc, struct vemu_state *st) {
	static const uint8_t sysretq[] = {0x48, 0x0f, 0x07};
	const uint64_t page = 0x1000;
	// The field's place is the library's: found once, on the first engine.
	static int found_off = -1, found_err_off = -1;
	int off = __atomic_load_n(&found_off, __ATOMIC_ACQUIRE), err_off;
	uc_err err;
	if (off < 0) {
		if ((err = find_old_exception(uc, &off, &err_off))) return err;
		__atomic_store_n(&found_err_off, err_off, __ATOMIC_RELAXED);
		__atomic_store_n(&found_off, off, __ATOMIC_RELEASE);
	}
	st->old_exception_off = off;
	st->error_code_off = __atomic_load_n(&found_err_off, __ATOMIC_RELAXED);
	if ((err = uc_context_alloc(uc, &st->scratch))) return err;
	if ((err = uc_mem_map(uc, page, 0x1000, UC_PROT_READ | UC_PROT_EXEC))) return err;
	uc_x86_msr efer = {0xc0000080, 0}, star = {0xc0000081, 0};
	uint64_t rcx = page + 0x1000, r11 = 0x202, cs = 0, zero = 0;
	if ((err = uc_mem_write(uc, page, sysretq, sizeof sysretq)) ||
	    (err = uc_reg_read(uc, UC_X86_REG_MSR, &efer))) goto out;
	efer.value |= 1; // SCE, as Linux sets it: sysret is then a privileged instruction, not #UD
	star.value = (uint64_t)0x23 << 48; // sysret selectors: CS 0x23+16, SS 0x23+8, RPL 3
	if ((err = uc_reg_write(uc, UC_X86_REG_MSR, &efer)) ||
	    (err = uc_reg_write(uc, UC_X86_REG_MSR, &star)) ||
	    (err = uc_reg_write(uc, UC_X86_REG_RCX, &rcx)) ||
	    (err = uc_reg_write(uc, UC_X86_REG_R11, &r11))) goto out;
	err = uc_emu_start(uc, page, 0, 0, 0);
	if (err != UC_ERR_FETCH_UNMAPPED) {
		if (!err) err = UC_ERR_EXCEPTION;
		goto out;
	}
	err = uc_reg_read(uc, UC_X86_REG_CS, &cs);
	if (!err && cs != 0x33) err = UC_ERR_EXCEPTION;
	star.value = 0;
	uc_reg_write(uc, UC_X86_REG_MSR, &star);
	uc_reg_write(uc, UC_X86_REG_RCX, &zero);
	uc_reg_write(uc, UC_X86_REG_R11, &zero);
	uc_reg_write(uc, UC_X86_REG_RIP, &zero);
	if (!err) err = vemu_clear_exception(uc, st);
out:
	uc_mem_unmap(uc, page, 0x1000);
	uc_ctl_remove_cache(uc, page, page + 0x1000);
	return err;
}

uc_err vemu_tlb_virtual(uc_engine *uc) { return uc_ctl_tlb_mode(uc, UC_TLB_VIRTUAL); }

// vemu_set_cpu_model must come before anything else touches the engine's CPU.
uc_err vemu_set_cpu_model(uc_engine *uc, int model) { return uc_ctl_set_cpu_model(uc, model); }

// flush_moved empties the TLB if an entry may give a page a physical address its range
// no longer has (VEMU_FLUSH_MOVED): Unicorn finds code to drop through the TLB.
static void flush_moved(uc_engine *uc, struct vemu_state *st) {
	if (st->flush_grant & VEMU_FLUSH_MOVED) {
		uc_ctl_flush_tlb(uc);
		st->flush_grant = 0;
	}
}

uc_err vemu_remove_cache(uc_engine *uc, struct vemu_state *st, uint64_t begin, uint64_t end) {
	flush_moved(uc, st);
	return uc_ctl_remove_cache(uc, begin, end);
}

// vemu_drop_code drops the code translated from [begin, end), which still has its table
// entries: from the pages of it in xfetch when the set is smaller than the range.
void vemu_drop_code(uc_engine *uc, struct vemu_state *st, uint64_t begin, uint64_t end) {
	struct vemu_pageset *s = &st->xfetch;
	uint64_t pages = (end - begin) >> 12;
	if (st->xfetch_lost || pages <= s->cap) {
		vemu_remove_cache(uc, st, begin, end);
		for (uint64_t p = begin; p < end && s->n > 0; p += 0x1000) vemu_ps_del(s, p);
		return;
	}
	if (s->n == 0) return; // nothing ran since the set was last emptied
	// The set's pages in the range: gathered first, as each deletion moves others.
	uint64_t n = 0, *in = malloc(s->n * sizeof *in);
	if (in == NULL) {
		vemu_remove_cache(uc, st, begin, end);
		return;
	}
	for (uint64_t i = 0; i < s->cap; i++) {
		uint64_t page = (s->slot[i] - 1) << 12;
		if (s->slot[i] != 0 && page >= begin && page < end) in[n++] = page;
	}
	for (uint64_t i = 0; i < n; i++) {
		vemu_remove_cache(uc, st, in[i], in[i] + 0x1000);
		vemu_ps_del(s, in[i]);
	}
	free(in);
}

uc_err vemu_exits_none(uc_engine *uc) {
	uc_err err = uc_ctl_exits_enable(uc);
	if (err) return err;
	return uc_ctl_set_exits(uc, NULL, 0);
}

// vemu_map_ptr maps host memory at host for guest [addr, addr+size) with every permission:
// the TLB fill hook decides what the guest may do there.
uc_err vemu_map_ptr(uc_engine *uc, uint64_t addr, uint64_t size, uintptr_t host) {
	return uc_mem_map_ptr(uc, addr, size, UC_PROT_ALL, (void *)host);
}

uc_err vemu_unmap(uc_engine *uc, struct vemu_state *st, uint64_t addr, uint64_t size) {
	flush_moved(uc, st);
	uint32_t before = st->flush_grant;
	uc_err err = uc_mem_unmap(uc, addr, size);
	// Unicorn empties the TLB entries of the region's pages after dropping its code (the
	// lookup that made the grant), so a grant made on the way is gone with them.
	if (!err) st->flush_grant = before;
	return err;
}

uc_err vemu_run(uc_engine *uc, struct vemu_state *st, uint64_t pc) {
	vemu_sigbus_running(uc, st);
	vemu_fp_running(uc);
	enter_run(uc, st);
	uc_err err = uc_emu_start(uc, pc, 0, 0, 0);
	leave_run(uc, st);
	vemu_fp_running(NULL);
	vemu_sigbus_running(NULL, NULL);
	return err;
}

// vemu_exit_at makes the engine stop before the instruction at addr (and nowhere else).
uc_err vemu_exit_at(uc_engine *uc, uint64_t addr) {
	uint64_t exits[1] = {addr};
	return uc_ctl_set_exits(uc, exits, 1);
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

// cover_set_grow doubles the block set; on failure coverage of new blocks stops (the
// edges go on).
static int cover_set_grow(struct vemu_state *st) {
	uint64_t cap = st->cover_cap ? st->cover_cap * 2 : 4096;
	uint64_t *addr = calloc(cap, sizeof *addr);
	uint32_t *size = calloc(cap, sizeof *size);
	if (addr == NULL || size == NULL) {
		free(addr);
		free(size);
		return -1;
	}
	for (uint64_t i = 0; i < st->cover_cap; i++) {
		uint64_t a = st->cover_addr[i];
		if (a == 0) continue;
		uint64_t j = (a * 0x9e3779b97f4a7c15ULL) >> 20 & (cap - 1);
		while (addr[j] != 0) j = (j + 1) & (cap - 1);
		addr[j] = a;
		size[j] = st->cover_size[i];
	}
	free(st->cover_addr);
	free(st->cover_size);
	st->cover_addr = addr;
	st->cover_size = size;
	st->cover_cap = cap;
	return 0;
}

// cover records the block at addr: its edge from the previous block, as AFL's QEMU mode
// hashes them, and the block itself.
static void cover(struct vemu_state *st, uint64_t addr, uint32_t size) {
	uint64_t cur = ((addr >> 4) ^ (addr << 8)) & (VEMU_COVER_SIZE - 1);
	uint8_t *hit = &st->cover_map[cur ^ st->cover_prev];
	if (*hit != 255) (*hit)++;
	st->cover_prev = cur >> 1;
	// A loop's blocks are in the set already: a direct-mapped cache of the last block
	// seen at each of a few slots saves the set's probe (and its cache misses).
	uint64_t *seen = &st->cover_seen[(addr ^ (addr >> 8)) & 255];
	if (*seen == addr || st->cover_addr == NULL || addr == 0) return;
	*seen = addr;
	uint64_t mask = st->cover_cap - 1;
	uint64_t i = (addr * 0x9e3779b97f4a7c15ULL) >> 20 & mask;
	while (st->cover_addr[i] != 0) {
		if (st->cover_addr[i] == addr) return;
		i = (i + 1) & mask;
	}
	st->cover_addr[i] = addr;
	st->cover_size[i] = size;
	if (++st->cover_len * 2 > st->cover_cap && cover_set_grow(st) != 0) {
		free(st->cover_addr);
		free(st->cover_size);
		st->cover_addr = NULL;
		st->cover_size = NULL;
	}
}

int vemu_cover_alloc(struct vemu_state *st) {
	if (st->cover_map == NULL) {
		st->cover_map = calloc(VEMU_COVER_SIZE, 1);
		if (st->cover_map == NULL) return -1;
	}
	if (st->cover_addr == NULL) {
		st->cover_cap = st->cover_len = 0;
		if (cover_set_grow(st) != 0) return -1;
	}
	memset(st->cover_seen, 0, sizeof st->cover_seen);
	return 0;
}

void vemu_cover_reset(struct vemu_state *st) {
	st->cover_on = 0;
	st->cover_prev = 0;
	if (st->cover_map) memset(st->cover_map, 0, VEMU_COVER_SIZE);
	if (st->cover_addr) {
		memset(st->cover_addr, 0, st->cover_cap * sizeof *st->cover_addr);
		st->cover_len = 0;
	}
	memset(st->cover_seen, 0, sizeof st->cover_seen);
}

void vemu_cover_free(struct vemu_state *st) {
	free(st->cover_map);
	free(st->cover_addr);
	free(st->cover_size);
	st->cover_map = NULL;
	st->cover_addr = NULL;
	st->cover_size = NULL;
}

// VEMU_KICK_BLOCKS is how many blocks the block hook's fast path counts at most before
// the slow path looks for a kick: a kick waits that long at most (some 10 µs of guest
// code), which spares every block a second load and test.
#define VEMU_KICK_BLOCKS 2048
// VEMU_LEFT_MAX is how far left counts down while the hook is installed but off.
#define VEMU_LEFT_MAX ((int64_t)1 << 40)

// block_stop stops the engine before the block at addr runs. A stop requested here lets
// this block run while rip stays at its start, so the block would run twice (measured in
// 2.1.1). Writing rip makes Unicorn leave the block before it runs: the stop is then exact.
static void block_stop(uc_engine *uc, struct vemu_state *st, uint64_t addr) {
	st->event = VEMU_EV_BLOCK;
	uc_reg_write(uc, UC_X86_REG_RIP, &addr);
	uc_emu_stop(uc);
}

// counting says whether the block hook's fast path counts for ran and the quantum (see
// left in struct vemu_state).
static int counting(const struct vemu_state *st) { return st->block_on && !st->cover_on; }

// block_fold adds the blocks the fast path counted since left was set to ran and blocks.
static void block_fold(struct vemu_state *st) {
	uint64_t n = (uint64_t)(st->grant - st->left);
	st->ran += n;
	if (st->quantum) st->blocks += n;
	st->grant = st->left;
}

// block_stretch sets how many blocks the fast path counts before the slow path runs:
// to the quantum's end, and at most VEMU_KICK_BLOCKS.
static void block_stretch(struct vemu_state *st) {
	int64_t n = VEMU_KICK_BLOCKS;
	if (st->cover_on) {
		n = 1;
	} else if (!st->block_on) {
		n = VEMU_LEFT_MAX;
	} else if (st->quantum) {
		n = st->blocks < st->quantum ? (int64_t)(st->quantum - st->blocks) : 1;
		if (n > VEMU_KICK_BLOCKS) n = VEMU_KICK_BLOCKS;
	}
	st->left = st->grant = n;
}

void vemu_block_sync(struct vemu_state *st) {
	if (counting(st)) block_fold(st);
	block_stretch(st);
}

// vemu_block_next makes the block hook's slow path run at the next block, keeping the
// count, so that a kick set on the engine's own thread (a signal handler's, outside the
// hook) takes effect there.
void vemu_block_next(struct vemu_state *st) {
	st->grant -= st->left - 1;
	st->left = 1;
}

uint64_t vemu_blocks_run(const struct vemu_state *st) {
	return st->ran + (counting(st) ? (uint64_t)(st->grant - st->left) : 0);
}

// block_all is the block hook while coverage is on: every block comes here. It keeps
// ran and blocks itself, and left at 1.
static inline __attribute__((always_inline)) void block_all(uc_engine *uc, struct vemu_state *st, uint64_t addr, uint32_t size) {
	st->left = st->grant = 1;
	if (st->block_on) {
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
			block_stop(uc, st, addr);
			return;
		}
		st->ran++;
	}
	// Only a block that runs now is covered: a stopped one runs when the engine resumes.
	if (st->cover_on) cover(st, addr, size);
}

// block_slow is the block hook when the fast path's count ran out: coverage, a kick, the
// quantum's end. The count included this block.
// Its arguments are on_block's, in the same registers, so that on_block reaches it by a
// jump.
static __attribute__((noinline)) void block_slow(uc_engine *uc, uint64_t addr, uint32_t size, struct vemu_state *st) {
	if (st->cover_on) {
		block_all(uc, st, addr, size);
		return;
	}
	if (!st->block_on) {
		// Installed but off: kicks are the SYSCALL hook's to see.
		block_stretch(st);
		return;
	}
	block_fold(st);
	int stop = 0;
	if (__atomic_load_n(&st->kick, __ATOMIC_RELAXED)) {
		__atomic_store_n(&st->kick, 0, __ATOMIC_RELAXED);
		stop = 1;
	} else if (st->quantum && st->blocks >= st->quantum) {
		st->blocks = 0; // a new quantum starts with the next block run
		stop = 1;
	}
	if (stop) {
		// This block does not run now: it runs first when the engine resumes.
		st->ran--;
		if (st->blocks) st->blocks--;
	}
	block_stretch(st);
	if (stop) block_stop(uc, st, addr);
}

// on_block runs before each translated block: it stops the engine when another thread has
// asked for it (kick) or when the quantum of blocks is used up (deterministic preemption).
// It runs for every block of a process with threads, so its common path is one count and
// a test, the rest being block_slow's every VEMU_KICK_BLOCKS blocks or fewer: a hook that
// looked at the kick, the quantum and coverage on each block made a Go program whose
// loop is two short blocks take some 40% more CPU time.
static void on_block(uc_engine *uc, uint64_t addr, uint32_t size, void *user) {
	struct vemu_state *st = user;
	if (__builtin_expect(--st->left > 0, 1)) return;
	block_slow(uc, addr, size, st);
}

// on_block_all is the block hook of an engine that records coverage from the start:
// block_all for every block, without the detour through the fast path.
static void on_block_all(uc_engine *uc, uint64_t addr, uint32_t size, void *user) {
	block_all(uc, user, addr, size);
}

uc_err vemu_hook_quantum(uc_engine *uc, struct vemu_state *st, int cover) {
	uc_hook h;
	vemu_block_sync(st);
	return uc_hook_add(uc, &h, UC_HOOK_BLOCK, cover ? (void *)on_block_all : (void *)on_block, st, 1, 0);
}

// dbg_stop stops the engine before the instruction at addr runs: writing rip makes
// Unicorn leave the block before it does (as in on_block).
static void dbg_stop(uc_engine *uc, struct vemu_state *st, uint64_t addr, uint32_t kind) {
	st->event = VEMU_EV_DEBUG;
	st->dbg_kind = kind;
	uc_reg_write(uc, UC_X86_REG_RIP, &addr);
	uc_emu_stop(uc);
}

// on_break is a breakpoint: a code hook bounded to one address, so that the guest's
// code bytes stay as they are.
static void on_break(uc_engine *uc, uint64_t addr, uint32_t size, void *user) {
	struct vemu_state *st = user;
	(void)size;
	if (st->event == VEMU_EV_DEBUG) return; // another hook at this address stopped already
	if (st->dbg_skip_on) {
		// The run resumes from this breakpoint: its instruction runs once.
		st->dbg_skip_on = 0;
		if (st->dbg_skip == addr) return;
	}
	st->dbg_addr = addr;
	dbg_stop(uc, st, addr, 1);
}

// on_watch notes an access to a watched range; the engine stops before the next
// instruction, as a CPU's data breakpoint traps after the access. Unicorn bounds and
// reports memory hooks by physical address, which is not the guest's in a window
// (mem.go): the hook takes every access and finds its guest address through the table's
// ranges in the watched one.
static void on_watch(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value, void *user) {
	struct vemu_watch *w = user;
	struct vemu_state *st = w->st;
	(void)uc; (void)value;
	if (st->watch_hit) return;
	struct vemu_region r;
	for (uint64_t a = w->begin; vemu_pt_next(&st->ptab, a, &r) && r.begin <= w->end; a = r.end) {
		uint64_t va = addr - (r.perms & VEMU_PT_OFF);
		uint64_t lo = r.begin > w->begin ? r.begin : w->begin;
		uint64_t hi = r.end - 1 < w->end ? r.end - 1 : w->end;
		if (va <= hi && va + (uint64_t)(size > 0 ? size - 1 : 0) >= lo) {
			st->watch_hit = 1;
			st->dbg_addr = va;
			st->dbg_size = size;
			st->dbg_write = type == UC_MEM_WRITE;
			return;
		}
		if (r.end == 0) return;
	}
}

// on_trace runs before every instruction while a step or a watchpoint needs it.
static void on_trace(uc_engine *uc, uint64_t addr, uint32_t size, void *user) {
	struct vemu_state *st = user;
	(void)size;
	if (st->event == VEMU_EV_DEBUG) return;
	if (st->dbg_skip_on) {
		// The first instruction of a run belongs to a breakpoint's own hook.
		if (st->dbg_skip != addr) st->dbg_skip_on = 0;
	}
	if (st->watch_hit) {
		st->watch_hit = 0;
		dbg_stop(uc, st, addr, 2);
		return;
	}
	if (st->step == 1) {
		st->step = 2;
		return;
	}
	if (st->step == 2) {
		st->step = 0;
		dbg_stop(uc, st, addr, 3);
	}
}

uc_err vemu_hook_break(uc_engine *uc, struct vemu_state *st, uint64_t addr, uc_hook *hh) {
	return uc_hook_add(uc, hh, UC_HOOK_CODE, (void *)on_break, st, addr, addr);
}

// vemu_hook_watch watches guest [begin, end] (see on_watch); *wp is the watch's memory,
// for vemu_unhook_watch.
uc_err vemu_hook_watch(uc_engine *uc, struct vemu_state *st, uint64_t begin, uint64_t end, int write, int read, uc_hook *hh, struct vemu_watch **wp) {
	int type = (write ? UC_HOOK_MEM_WRITE : 0) | (read ? UC_HOOK_MEM_READ : 0);
	struct vemu_watch *w = malloc(sizeof *w);
	if (!w) return UC_ERR_NOMEM;
	w->st = st;
	w->begin = begin;
	w->end = end;
	uc_err err = uc_hook_add(uc, hh, type, (void *)on_watch, w, 1, 0);
	if (err) {
		free(w);
		return err;
	}
	*wp = w;
	return UC_ERR_OK;
}

void vemu_unhook_watch(uc_engine *uc, uc_hook h, struct vemu_watch *w) {
	uc_hook_del(uc, h);
	free(w);
}

uc_err vemu_hook_trace(uc_engine *uc, struct vemu_state *st, uc_hook *hh) {
	return uc_hook_add(uc, hh, UC_HOOK_CODE, (void *)on_trace, st, 1, 0);
}

// vemu_flush_exec drops the code translated from every executable range: Unicorn
// decides at translation which hooks a block calls, and a whole-cache flush
// (uc_ctl_flush_tb) was measured at 13 s for its first call.
uc_err vemu_flush_exec(uc_engine *uc, struct vemu_state *st) {
	flush_moved(uc, st);
	struct vemu_region r;
	for (uint64_t a = 0; vemu_pt_next(&st->ptab, a, &r); a = r.end)
		if (r.perms & UC_PROT_EXEC)
			uc_ctl_remove_cache(uc, r.begin, r.end);
	// Fresh TLB entries before guest code runs again: Unicorn checks stores against the
	// code of a page only while its entry is fresh, and a store that finds none of the
	// dropped code there would leave the page unchecked (see xpages in hooks.h).
	st->flush_grant |= 1;
	return UC_ERR_OK;
}
