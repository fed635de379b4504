// Code the guest rewrites with its own stores, in pages both writable and executable (a
// JIT's code cache, an executable stack). See xpages in hooks.h for why the TLB fill hook
// gives such a page write or execute but never both, and Engine.Run for the other half.
#include <stdlib.h>
#include "hooks.h"

// The set is open addressing with linear probing over page numbers plus one (0 is an
// empty slot), kept at most half full; a deletion moves later entries of its run back, so
// lookups never meet tombstones.

static uint64_t ps_slot(uint64_t key, uint64_t mask) {
	key *= 0x9e3779b97f4a7c15ULL;
	return (key >> 32) & mask;
}

int vemu_ps_has(const struct vemu_pageset *s, uint64_t page) {
	if (s->cap == 0) return 0;
	uint64_t key = (page >> 12) + 1, mask = s->cap - 1;
	for (uint64_t i = ps_slot(key, mask);; i = (i + 1) & mask) {
		if (s->slot[i] == key) return 1;
		if (s->slot[i] == 0) return 0;
	}
}

static void ps_put(uint64_t *slot, uint64_t mask, uint64_t key) {
	uint64_t i = ps_slot(key, mask);
	while (slot[i] != 0) i = (i + 1) & mask;
	slot[i] = key;
}

// vemu_ps_add puts page in the set; 0 when the set holds max pages or without memory.
int vemu_ps_add(struct vemu_pageset *s, uint64_t page, uint64_t max) {
	if (vemu_ps_has(s, page)) return 1;
	if (s->n >= max) return 0;
	if (2 * (s->n + 1) > s->cap) {
		uint64_t cap = s->cap ? 2 * s->cap : 64;
		uint64_t *slot = calloc(cap, sizeof *slot);
		if (slot == NULL) return 0;
		for (uint64_t i = 0; i < s->cap; i++)
			if (s->slot[i]) ps_put(slot, cap - 1, s->slot[i]);
		free(s->slot);
		s->slot = slot;
		s->cap = cap;
	}
	ps_put(s->slot, s->cap - 1, (page >> 12) + 1);
	s->n++;
	return 1;
}

void vemu_ps_del(struct vemu_pageset *s, uint64_t page) {
	if (s->cap == 0) return;
	uint64_t key = (page >> 12) + 1, mask = s->cap - 1;
	uint64_t i = ps_slot(key, mask);
	while (s->slot[i] != key) {
		if (s->slot[i] == 0) return;
		i = (i + 1) & mask;
	}
	// Close the gap: an entry further along the run moves into it when its home slot
	// does not lie (cyclically) between the gap and the entry.
	for (uint64_t j = i;;) {
		s->slot[i] = 0;
		for (;;) {
			j = (j + 1) & mask;
			if (s->slot[j] == 0) {
				s->n--;
				return;
			}
			uint64_t h = ps_slot(s->slot[j], mask);
			if (i <= j ? (h <= i || h > j) : (h <= i && h > j)) break;
		}
		s->slot[i] = s->slot[j];
		i = j;
	}
}

void vemu_ps_free(struct vemu_pageset *s) {
	free(s->slot);
	s->slot = NULL;
	s->cap = s->n = 0;
}

// vemu_smc_grant narrows what the fill hook grants a page that is both writable and
// executable, or either in shared memory (shared): execution (with reading) while the
// page may hold translated code, writing (with reading) otherwise. The set holds phys,
// the page's physical address, which every address of shared memory shares. It returns
// 0 to refuse the access: a write to a page that may hold code, or a fetch when the set
// is full; smc_page then names the page, and Go drops the code and runs the instruction
// again.
int vemu_smc_grant(uc_engine *uc, struct vemu_state *st, uint64_t page, uint64_t phys, int shared,
		   uc_mem_type type, uint64_t *perms) {
	int in = vemu_ps_has(&st->xpages, phys);
	switch (type) {
	case UC_MEM_FETCH:
		if (!in) {
			if (!vemu_ps_add(&st->xpages, phys, st->xpages_max ? st->xpages_max : VEMU_XPAGES_MAX)) {
				st->smc_page = page;
				st->smc_reset = 1;
				return 0;
			}
			// Another address of the memory may have a TLB entry that writes it
			// (made while the page held no code): all go, before this one is made.
			if (shared) uc_ctl_flush_tlb(uc);
		}
		*perms &= ~(uint64_t)UC_PROT_WRITE;
		return 1;
	case UC_MEM_WRITE:
		if (in) {
			st->smc_page = page;
			return 0;
		}
		*perms &= ~(uint64_t)UC_PROT_EXEC;
		st->smc_wrote = 1;
		return 1;
	default:
		*perms &= in ? ~(uint64_t)UC_PROT_WRITE : ~(uint64_t)UC_PROT_EXEC;
		return 1;
	}
}

// smc_phys returns the physical page behind the guest page page, as the fill hook maps it.
static uint64_t smc_phys(struct vemu_state *st, uint64_t page) {
	uint32_t i;
	const struct vemu_pt_node *x = vemu_pt_seek(&st->ptab, page, &i);
	if (x && x->u.r.begin[i] <= page) return page + (x->u.r.perms[i] & VEMU_PT_OFF);
	return page;
}

// vemu_smc_drop drops the code translated from page (from its physical page, at whatever
// address it ran) and takes it out of the set; the TLB is emptied before guest code runs
// again, since an entry may still let the page execute.
uc_err vemu_smc_drop(uc_engine *uc, struct vemu_state *st, uint64_t page) {
	st->smc_drops++;
	vemu_ps_del(&st->xpages, smc_phys(st, page));
	uc_err err = vemu_remove_cache(uc, st, page, page + 0x1000);
	st->flush_grant |= 1;
	return err;
}

// vemu_smc_reset drops all translated code and empties the set, when it is full.
uc_err vemu_smc_reset(uc_engine *uc, struct vemu_state *st) {
	st->smc_resets++;
	vemu_ps_free(&st->xpages);
	uc_err err = uc_ctl_flush_tb(uc);
	st->flush_grant |= 1;
	return err;
}
