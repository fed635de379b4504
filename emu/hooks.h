// Shared between the cgo preamble and hooks.c: the per-engine state the C hooks fill in.
#ifndef VEMU_HOOKS_H
#define VEMU_HOOKS_H

#include <stdint.h>
#include <stdbool.h>
#include <unicorn/unicorn.h>

// vemu_sys mirrors emu.Syscall field for field; Go reads and writes it in place.
struct vemu_sys {
	uint64_t nr;
	uint64_t args[6];
	uint64_t rip;    // address of the syscall instruction
	uint64_t rflags; // flags at the syscall; the hook copies them into r11
	uint64_t ret;    // the value written to rax
	uint64_t stop;   // non-zero: stop the engine after this call
};

// VEMU_FAST_MAX bounds the system call numbers the SYSCALL hook may answer itself.
// vemu_event is what a hook records in vemu_state.event before it stops the engine; the
// run loop in run.go turns it into an Event.
enum vemu_event {
	VEMU_EV_NONE = 0,
	VEMU_EV_FAULT = 1,  // a memory fault: fault_addr, fault_rip, mem_type
	VEMU_EV_INTR = 2,   // an interrupt or exception: intno, intr_rip
	VEMU_EV_PANIC = 4,  // a Go callback panicked (set from Go)
	VEMU_EV_BLOCK = 5,  // the block hook stopped the engine (a kick or the quantum)
	VEMU_EV_PORTIO = 6, // in or out in user mode: a general protection fault
	VEMU_EV_DEBUG = 7,  // a breakpoint, watchpoint or step: dbg_kind, dbg_addr
};

#define VEMU_FAST_MAX 512
// VEMU_TLB_GROW is the number of TLB fills after which the fill hook empties the TLB, so
// that QEMU resizes it to what the program uses, at most VEMU_TLB_GROWS times in a row
// (see on_tlb_fill).
#define VEMU_TLB_GROW 65536
#define VEMU_TLB_GROWS 5

// vemu_cpuid_leaf is one answer of the CPUID hook, given instead of the model's: r holds
// eax, ebx, ecx and edx for leaf (and sub, unless any_sub).
struct vemu_cpuid_leaf {
	uint32_t leaf, sub, any_sub, pad;
	uint32_t r[4];
};

// VEMU_CPUID_MAX bounds the leaves the CPUID hook answers itself.
#define VEMU_CPUID_MAX 4

// vemu_region is one mapped guest range [begin, end) and its UC_PROT_* permissions.
struct vemu_region {
	uint64_t begin, end;
	uint64_t perms; // VEMU_PT_PROT bits: UC_PROT_*; the others: see VEMU_PT_OFF
};

// A range's word holds its permissions in the low bits and, in the bits of a page
// address, the offset (modulo 2^64) from its guest addresses to the CPU's physical
// addresses behind them: 0 where a Unicorn region maps the guest range itself, another
// value in a window of shared memory (mem.go). Ranges join only where both agree.
#define VEMU_PT_PROT 0xfffULL
#define VEMU_PT_OFF (~VEMU_PT_PROT)
// VEMU_PT_SHARED among a range's permission bits: its memory may be shown at other guest
// addresses too (emu's ProtShared); it is not an access the CPU grants.
#define VEMU_PT_SHARED 0x8ULL

// VEMU_FLUSH_MOVED in flush_grant: a TLB entry may give a page a physical address its
// range no longer has (a window's page unmapped or moved).
#define VEMU_FLUSH_MOVED 2u

// The permission table (ptab.c) is a B+ tree of disjoint ranges keyed by their ends: a
// node holds up to VEMU_PT_WIDTH slots, every node but the root at least half as many,
// so that a change costs O(log n) however many ranges a guest makes, and a lookup reads
// one short sorted array per level (one level up to VEMU_PT_WIDTH ranges, three up to
// some 8,000).
#define VEMU_PT_WIDTH 16

struct vemu_pt_node {
	uint32_t n;    // slots in use
	uint32_t leaf; // non-zero: the slots are ranges; otherwise children
	// key[i] is the end of range i (a leaf) or the last end under child i.
	uint64_t key[VEMU_PT_WIDTH];
	union {
		struct {
			uint64_t begin[VEMU_PT_WIDTH];
			uint64_t perms[VEMU_PT_WIDTH];
		} r;
		struct vemu_pt_node *child[VEMU_PT_WIDTH];
	} u;
};

struct vemu_ptab {
	struct vemu_pt_node *root; // NULL when empty
	uint32_t height;           // levels
	uint32_t nspare;
	struct vemu_pt_node *spare; // free nodes kept for the next changes, linked by child[0]
	uint64_t count;             // ranges
};

// vemu_pt_seek returns the leaf and slot (in *i) of the first range whose end is above
// addr, or NULL.
static inline const struct vemu_pt_node *vemu_pt_seek(const struct vemu_ptab *t, uint64_t addr, uint32_t *i) {
	const struct vemu_pt_node *x = t->root;
	if (!x) return NULL;
	for (;;) {
		// The keys are sorted: the slot is the number of them at or below addr.
		uint32_t k = 0;
		for (uint32_t j = 0; j < x->n; j++) k += x->key[j] <= addr;
		if (k == x->n) return NULL;
		if (x->leaf) {
			*i = k;
			return x;
		}
		x = x->u.child[k];
	}
}

int vemu_pt_next(struct vemu_ptab *t, uint64_t addr, struct vemu_region *out);
int vemu_pt_last_below(struct vemu_ptab *t, uint64_t addr, struct vemu_region *out);
struct vemu_state;
int vemu_pt_set(uc_engine *uc, struct vemu_state *st, uint64_t begin, uint64_t end, uint64_t perms, int keep);
void vemu_pt_free(struct vemu_ptab *t);
int vemu_pt_check(struct vemu_ptab *t);

// A set of pages (smc.c).
struct vemu_pageset {
	uint64_t *slot;
	uint64_t cap, n;
};

// VEMU_XPAGES_MAX bounds xpages (256 MiB of executed pages) unless xpages_max says
// otherwise (tests; at least 2, the pages one block may span): past it, all translated
// code goes and the set starts again empty.
#define VEMU_XPAGES_MAX 65536

int vemu_ps_has(const struct vemu_pageset *s, uint64_t page);
int vemu_ps_add(struct vemu_pageset *s, uint64_t page, uint64_t max);
void vemu_ps_del(struct vemu_pageset *s, uint64_t page);
void vemu_ps_free(struct vemu_pageset *s);

// VEMU_XFETCH_MAX bounds xfetch (4 GiB of pages allowed to execute): past it, code is
// looked for page by page over each range that loses it.
#define VEMU_XFETCH_MAX (1u << 20)

// VEMU_LOST_MAX bounds the host pages one run records as lost to a host SIGBUS.
#define VEMU_LOST_MAX 16

// vemu_state is allocated in C memory, one per engine; Go keeps a pointer to it.
struct vemu_state {
	struct vemu_sys sys;
	uint64_t id; // the engine's index in Go's registry

	// The last fault or interrupt, recorded by the hooks.
	uint32_t event;      // what stopped the engine: an enum vemu_event
	uint32_t mem_type;   // uc_mem_type of the fault
	uint64_t fault_addr; // address accessed
	uint64_t fault_rip;  // rip as read inside the hook
	int32_t fault_size;
	uint32_t intno;
	uint64_t intr_rip;

	// The guest's permission table: mapped ranges, disjoint, changed by Go (mem.go)
	// through ptab.c. Unicorn's regions carry every permission; the TLB fill hook gives a page
	// only the access its range allows, so that any other access stops the engine
	// through Unicorn's exact exception path.
	struct vemu_ptab ptab;

	// The access the TLB fill hook refused last: its page and uc_mem_type.
	uint32_t tlb_fault; // non-zero: a refusal since the run started
	uint32_t tlb_type;
	uint64_t tlb_page;

	// running is set while the engine runs guest code: during uc_emu_start (vemu_run),
	// except while a hook calls Go. Otherwise the fill hook never refuses: Unicorn looks
	// pages up through the TLB outside guest code too (uc_ctl_remove_cache and uc_mem_unmap
	// find the code to drop as a fetch of the first page), and a refusal there would unwind
	// the wrong frames. It grants the access instead and sets flush_grant; the TLB is
	// emptied before guest code runs again.
	uint32_t running, flush_grant;
	// Pages both writable and executable, where a program rewrites code with ordinary
	// stores (a JIT's code cache, an executable stack). Unicorn checks a store against
	// the code translated from its page only while the page's TLB entry is fresh: once a
	// store there hit no translated block, later stores to the page go unchecked until the
	// entry is made again, and the old translation of rewritten code keeps running
	// (Unicorn 2.1.1; testdata/c/smc.c). So the fill hook never grants such a page write
	// and execution at once. xpages holds those that may hold translated code (execution
	// was granted since their code was last dropped): they get read and execute; the
	// others read and write. A write to a page in xpages is refused with smc_page set
	// (smc_reset too when a fetch found the set full), and Go drops the page's code and
	// runs the instruction again (Engine.Run); smc_step is a page granted everything
	// for the one instruction that both runs from it and writes it.
	// The set holds physical pages, so that shared memory shown at two addresses (a JIT's
	// code written through a writable view and run through an executable one, both
	// mapped onto one window slot) is one page in it: the pages of such ranges
	// (VEMU_PT_SHARED) are watched when writable or executable, not only when both, and
	// a fetch that puts one in the set empties the TLB, where another address of it
	// may still have an entry that writes it.
	struct vemu_pageset xpages;
	// xfetch holds the guest pages the fill hook let execute: code is translated only
	// from those. A range that loses its code has it dropped from its pages there, or
	// from every page of the range (Unicorn's search, ~8 ns a page whatever ran) when
	// that is fewer or the set overflowed (xfetch_lost): its cost follows what ran, not
	// the size of the range (vemu_drop_code).
	struct vemu_pageset xfetch;
	uint32_t xfetch_lost;
	uint64_t smc_page, smc_step, xpages_max;
	uint32_t smc_reset;
	uint32_t smc_wrote; // a write granted to such a page since Go last cleared it
	uint64_t smc_drops, smc_resets; // counted for the run statistics

	uint64_t fills; // TLB fills since the fill hook last emptied the TLB
	uint64_t grows; // times it did so since the TLB was last emptied for another reason

	// Syscall register ids and value pointers for the batch calls.
	int sys_read_ids[9];
	void *sys_read_ptrs[9];
	int sys_write_ids[3];
	void *sys_write_ptrs[3];
	uint64_t rcx, r11;

	// Counters, read by the run statistics.
	uint64_t syscalls;

	// Deterministic preemption: stop after quantum blocks (0: off). The block hook does
	// nothing while block_on is 0 (an engine used again keeps the hook it once needed).
	uint64_t quantum, blocks;
	uint32_t block_on;
	// Blocks run while the block hook is installed (a stopped block is not counted:
	// it runs when the engine resumes). The virtual clock advances with it.
	uint64_t ran;
	// The block hook's fast path only counts left down, and calls the slow path when it
	// reaches 0 (see on_block). While block_on is set and coverage is off, left counts
	// down from grant, at most VEMU_KICK_BLOCKS and to the quantum's end, and the blocks
	// counted so far are grant - left beyond ran and blocks; the slow path folds them in
	// and looks for a kick, as vemu_block_sync does whenever Go changes the state above.
	// With coverage on, left stays 1, and the slow path does everything for every block.
	int64_t left, grant;

	// Coverage of the guest's code while cover_on: AFL-style edges (a hash of the previous
	// and the current block's addresses counts into cover_map, VEMU_COVER_SIZE bytes), and
	// the set of blocks run (cover_addr, open addressing, 0 is empty; cover_size beside).
	uint32_t cover_on;
	uint64_t cover_prev;
	uint8_t *cover_map;
	uint64_t *cover_addr;
	uint32_t *cover_size;
	uint64_t cover_cap, cover_len;
	uint64_t cover_seen[256]; // blocks recently put in the set, by a hash of the address

	// Set from any thread when a message waits for the run loop: the block hook stops
	// the engine on it, and the SYSCALL hook stops answering calls itself.
	uint32_t kick;

	// System calls whose answer is fixed (getpid, gettid): answered in the hook without
	// calling Go, and counted here for the statistics.
	uint8_t fast_ok[VEMU_FAST_MAX];
	uint64_t fast_val[VEMU_FAST_MAX];
	uint64_t fast_hits[VEMU_FAST_MAX];

	// A context to reset the CPU's exception in flight after each exception, and where
	// that field lies in it (see vemu_clear_exception).
	uc_context *scratch;
	int old_exception_off;
	// Where the error code of the last exception lies in a saved context (-1: not
	// found), and the one vemu_clear_exception read there.
	int error_code_off;
	uint32_t error_code;

	// The descriptor tables (GDT, then LDT) live in vemu's memory at [desc_begin,
	// desc_end), in the kernel's half of the address space, where no guest range is:
	// the TLB fill hook refuses every access there but the one read of the page
	// desc_grant (0: none) that Go allows for a segment load (see descLoad in desc.go).
	uint64_t desc_begin, desc_end;
	uint64_t desc_grant;

	// CPUID leaves answered by the hook (the model's with features masked); the others
	// reach the model. cpuid_calls counts the guest's CPUID instructions.
	uint32_t ncpuid;
	struct vemu_cpuid_leaf cpuid[VEMU_CPUID_MAX];
	uint64_t cpuid_calls;

	// Debugging (debug.go). A stop for the debugger is VEMU_EV_DEBUG, with dbg_kind saying
	// why: 1 a breakpoint at dbg_addr, 2 a watchpoint that dbg_addr was accessed
	// through (dbg_write: by a store), 3 a single step done.
	uint32_t dbg_kind;
	uint32_t dbg_write;
	uint32_t dbg_size;    // with dbg_kind 2: the size of that access
	uint64_t dbg_addr;
	uint64_t dbg_skip;    // a breakpoint here does not stop the first instruction run
	uint32_t dbg_skip_on;
	uint32_t watch_hit;   // a watched access happened: stop before the next instruction
	uint32_t step;        // 1: the instruction being stepped has yet to start, 2: it has
	uint32_t trace_on;    // the per-instruction hook is installed

	// Host pages that raised SIGBUS while guest code ran (sigbus.c), by host address:
	// lost_n counts them, lost holds the first VEMU_LOST_MAX. Go reads and clears them.
	uint32_t lost_n;
	uint64_t lost[VEMU_LOST_MAX];
};

struct vemu_state *vemu_state_new(uint64_t id);
uc_err vemu_install_hooks(uc_engine *uc, struct vemu_state *st);
uc_err vemu_user_mode(uc_engine *uc, struct vemu_state *st);
uc_err vemu_clear_exception(uc_engine *uc, struct vemu_state *st);
uc_err vemu_desc_tables(uc_engine *uc, struct vemu_state *st, uint64_t base, uint64_t size, uintptr_t host,
			uint32_t gdt_limit, uint64_t ldt_off, uint32_t ldt_limit);
uc_err vemu_tlb_virtual(uc_engine *uc);
uc_err vemu_set_cpu_model(uc_engine *uc, int model);
uc_err vemu_remove_cache(uc_engine *uc, struct vemu_state *st, uint64_t begin, uint64_t end);
void vemu_drop_code(uc_engine *uc, struct vemu_state *st, uint64_t begin, uint64_t end);
uc_err vemu_exits_none(uc_engine *uc);
uc_err vemu_exit_at(uc_engine *uc, uint64_t addr);
uc_err vemu_run(uc_engine *uc, struct vemu_state *st, uint64_t pc);
int vemu_smc_grant(uc_engine *uc, struct vemu_state *st, uint64_t page, uint64_t phys, int shared, uc_mem_type type, uint64_t *perms);
uc_err vemu_smc_drop(uc_engine *uc, struct vemu_state *st, uint64_t page);
uc_err vemu_smc_reset(uc_engine *uc, struct vemu_state *st);
int vemu_sigbus_install(void);
void vemu_sigbus_running(uc_engine *uc, struct vemu_state *st);
// vemu_start_ignored is the set of signals vemu was started with ignored, bit sig-1 for
// each (startsig.c).
uint64_t vemu_start_ignored(void);
// vemu_fp_running names the engine this thread runs for the floating-point helpers of
// x87.c and sse.c (NULL after); vemu_fp_uc is that engine.
void vemu_fp_running(uc_engine *uc);
extern __thread uc_engine *vemu_fp_uc;
// vemu_sse_forget drops sse.c's copy of the running engine's MXCSR.
void vemu_sse_forget(void);
uc_err vemu_map_ptr(uc_engine *uc, uint64_t addr, uint64_t size, uintptr_t host);
uc_err vemu_unmap(uc_engine *uc, struct vemu_state *st, uint64_t addr, uint64_t size);
uc_err vemu_hook_code_range(uc_engine *uc, struct vemu_state *st, uint64_t begin, uint64_t end, uc_hook *hh);
uc_err vemu_reg_read_n(uc_engine *uc, int *ids, uint64_t *vals, int n);
uc_err vemu_reg_write_n(uc_engine *uc, int *ids, uint64_t *vals, int n);
uint64_t vemu_host_tsc(void);
uc_err vemu_hook_quantum(uc_engine *uc, struct vemu_state *st, int cover);
void vemu_block_sync(struct vemu_state *st);
void vemu_block_next(struct vemu_state *st);
uint64_t vemu_blocks_run(const struct vemu_state *st);

#define VEMU_COVER_SIZE 65536
int vemu_cover_alloc(struct vemu_state *st);
void vemu_cover_reset(struct vemu_state *st);
void vemu_cover_free(struct vemu_state *st);
uc_err vemu_hook_break(uc_engine *uc, struct vemu_state *st, uint64_t addr, uc_hook *hh);
struct vemu_watch {
	struct vemu_state *st;
	uint64_t begin, end; // guest addresses, end included
};
uc_err vemu_hook_watch(uc_engine *uc, struct vemu_state *st, uint64_t begin, uint64_t end, int write, int read, uc_hook *hh, struct vemu_watch **wp);
void vemu_unhook_watch(uc_engine *uc, uc_hook h, struct vemu_watch *w);
uc_err vemu_hook_trace(uc_engine *uc, struct vemu_state *st, uc_hook *hh);
uc_err vemu_flush_exec(uc_engine *uc, struct vemu_state *st);

#endif
