// The permission table: a B+ tree of disjoint guest ranges keyed by their ends (see
// hooks.h). The TLB fill hook reads it (vemu_pt_seek); Go changes it through vemu_pt_set
// between runs, on the goroutine that drives the engine.
#include <stdlib.h>
#include <string.h>
#include "hooks.h"

#define W VEMU_PT_WIDTH
#define HALF (VEMU_PT_WIDTH / 2)

// PT_SPARE_MAX bounds the free nodes kept for later changes.
#define PT_SPARE_MAX 64

typedef struct vemu_pt_node node;

static uint64_t last_key(const node *x) { return x->key[x->n - 1]; }

static void slot_get(const node *x, uint32_t i, struct vemu_region *out) {
	out->begin = x->u.r.begin[i];
	out->end = x->key[i];
	out->perms = x->u.r.perms[i];
}

// reserve makes sure that n nodes can be had without asking malloc, so that a change
// never stops half done.
static int reserve(struct vemu_ptab *t, uint32_t n) {
	while (t->nspare < n) {
		node *x = malloc(sizeof *x);
		if (!x) return 0;
		x->u.child[0] = t->spare;
		t->spare = x;
		t->nspare++;
	}
	return 1;
}

// take returns a reserved node.
static node *take(struct vemu_ptab *t, int leaf) {
	node *x = t->spare;
	t->spare = x->u.child[0];
	t->nspare--;
	x->n = 0;
	x->leaf = leaf;
	return x;
}

static void give(struct vemu_ptab *t, node *x) {
	if (t->nspare >= PT_SPARE_MAX) {
		free(x);
		return;
	}
	x->u.child[0] = t->spare;
	t->spare = x;
	t->nspare++;
}

// move_slots moves count slots of src from si to dst at di (the two may be one node).
static void move_slots(node *dst, uint32_t di, node *src, uint32_t si, uint32_t count) {
	if (!count) return;
	memmove(&dst->key[di], &src->key[si], count * sizeof src->key[0]);
	if (src->leaf) {
		memmove(&dst->u.r.begin[di], &src->u.r.begin[si], count * sizeof src->u.r.begin[0]);
		memmove(&dst->u.r.perms[di], &src->u.r.perms[si], count * sizeof src->u.r.perms[0]);
	} else {
		memmove(&dst->u.child[di], &src->u.child[si], count * sizeof src->u.child[0]);
	}
}

// put places a slot (a range, or a child whose last key is key) at i in x, splitting x
// when it is full: it returns the new right half, or NULL.
static node *put(struct vemu_ptab *t, node *x, uint32_t i, uint64_t key, const struct vemu_region *r, node *child) {
	node *right = NULL, *into = x;
	if (x->n == W) {
		right = take(t, x->leaf);
		move_slots(right, 0, x, HALF, W - HALF);
		right->n = W - HALF;
		x->n = HALF;
		if (i > HALF) {
			into = right;
			i -= HALF;
		}
	}
	move_slots(into, i + 1, into, i, into->n - i);
	into->key[i] = key;
	if (into->leaf) {
		into->u.r.begin[i] = r->begin;
		into->u.r.perms[i] = r->perms;
	} else {
		into->u.child[i] = child;
	}
	into->n++;
	return right;
}

// slot returns the first slot of x whose key is at or above key (x->n if none).
static uint32_t slot(const node *x, uint64_t key) {
	uint32_t i = 0;
	while (i < x->n && x->key[i] < key) i++;
	return i;
}

// ins adds r under x and returns x's new right half if x split.
static node *ins(struct vemu_ptab *t, node *x, const struct vemu_region *r) {
	uint32_t i = slot(x, r->end);
	if (x->leaf) return put(t, x, i, r->end, r, NULL);
	if (i == x->n) i--; // beyond every range: into the last child
	node *c = x->u.child[i];
	node *split = ins(t, c, r);
	x->key[i] = last_key(c);
	if (!split) return NULL;
	return put(t, x, i + 1, last_key(split), NULL, split);
}

// insert adds r, which overlaps no range; the caller reserved height+2 nodes.
static void insert(struct vemu_ptab *t, const struct vemu_region *r) {
	if (!t->root) {
		t->root = take(t, 1);
		t->height = 1;
	}
	node *split = ins(t, t->root, r);
	if (split) {
		node *root = take(t, 0);
		root->n = 2;
		root->key[0] = last_key(t->root);
		root->u.child[0] = t->root;
		root->key[1] = last_key(split);
		root->u.child[1] = split;
		t->root = root;
		t->height++;
	}
	t->count++;
}

// del removes the range that ends at end from under x. A child left with fewer than
// HALF slots takes slots from a neighbour, or the two become one.
static void del(struct vemu_ptab *t, node *x, uint64_t end) {
	uint32_t i = slot(x, end);
	if (x->leaf) {
		move_slots(x, i, x, i + 1, x->n - i - 1);
		x->n--;
		return;
	}
	node *c = x->u.child[i];
	del(t, c, end);
	if (c->n >= HALF) {
		x->key[i] = last_key(c);
		return;
	}
	// Below the root every node has HALF slots or more, and the root two or more: c has
	// a neighbour.
	uint32_t a = i > 0 ? i - 1 : i, b = a + 1;
	node *l = x->u.child[a], *r = x->u.child[b];
	if (l->n + r->n <= W) {
		move_slots(l, l->n, r, 0, r->n);
		l->n += r->n;
		give(t, r);
		x->key[a] = last_key(l);
		move_slots(x, b, x, b + 1, x->n - b - 1);
		x->n--;
		return;
	}
	uint32_t ln = (l->n + r->n) / 2;
	if (l->n > ln) {
		uint32_t k = l->n - ln;
		move_slots(r, k, r, 0, r->n);
		move_slots(r, 0, l, ln, k);
		r->n += k;
		l->n = ln;
	} else {
		uint32_t k = ln - l->n;
		move_slots(l, l->n, r, 0, k);
		move_slots(r, 0, r, k, r->n - k);
		l->n = ln;
		r->n -= k;
	}
	x->key[a] = last_key(l);
	x->key[b] = last_key(r);
}

// delete removes the range that ends at end, which must be in the table.
static void delete(struct vemu_ptab *t, uint64_t end) {
	del(t, t->root, end);
	t->count--;
	node *x = t->root;
	if (x->leaf && x->n == 0) {
		give(t, x);
		t->root = NULL;
		t->height = 0;
	} else if (!x->leaf && x->n == 1) {
		t->root = x->u.child[0];
		give(t, x);
		t->height--;
	}
}

// vemu_pt_next finds the first range whose end is above addr.
int vemu_pt_next(struct vemu_ptab *t, uint64_t addr, struct vemu_region *out) {
	uint32_t i;
	const node *x = vemu_pt_seek(t, addr, &i);
	if (!x) return 0;
	slot_get(x, i, out);
	return 1;
}

static int last_below(const node *x, uint64_t addr, struct vemu_region *out) {
	uint32_t i = 0; // slots before i end at or below addr: they begin below it
	while (i < x->n && x->key[i] <= addr) i++;
	if (x->leaf) {
		if (i < x->n && x->u.r.begin[i] < addr) i++;
		if (i == 0) return 0;
		slot_get(x, i - 1, out);
		return 1;
	}
	if (i < x->n && last_below(x->u.child[i], addr, out)) return 1;
	if (i == 0) return 0;
	for (x = x->u.child[i - 1]; !x->leaf; x = x->u.child[x->n - 1]) {
	}
	slot_get(x, x->n - 1, out);
	return 1;
}

// vemu_pt_last_below finds the last range that begins below addr.
int vemu_pt_last_below(struct vemu_ptab *t, uint64_t addr, struct vemu_region *out) {
	return t->root && last_below(t->root, addr, out);
}

// vemu_pt_set makes [begin, end) one range with perms (keep) or no range (!keep); the
// parts of other ranges outside it stay, and neighbours with the same permissions join.
// Pages that lose a permission set *flush_grant (the TLB must be emptied before guest
// code runs again), and those that lose execution, or keep it and become writable, lose
// the code translated from them.
// It returns 0, or -1 without memory for the change: the ranges it overlaps are then
// gone whole (the guest faults there, as if the map had failed; nothing is granted that
// was not).
int vemu_pt_set(uc_engine *uc, struct vemu_state *st, uint64_t begin, uint64_t end, uint64_t perms, int keep) {
	struct vemu_ptab *t = &st->ptab;
	uint32_t *flush_grant = &st->flush_grant;
	struct vemu_region e, lo = {0}, hi = {0};
	int lost = 0, has_lo = 0, has_hi = 0;
	for (uint64_t a = begin; vemu_pt_next(t, a, &e) && e.begin < end; a = e.end) {
		// A page whose physical address changes, or that goes from a window, may keep
		// a TLB entry with the old one.
		int moved = ((e.perms ^ perms) & VEMU_PT_OFF) != 0 || (!keep && (e.perms & VEMU_PT_OFF));
		if ((e.perms & ~perms & VEMU_PT_PROT) || !keep || moved) lost |= 1;
		// Code translated from an executable page that becomes writable too goes as
		// well: the fill hook lets the guest write such a page only while no code of it
		// is kept (xpages in hooks.h), and knows nothing of code from before.
		int gains_write = keep && (perms & UC_PROT_EXEC) && (perms & UC_PROT_WRITE) && !(e.perms & UC_PROT_WRITE);
		if ((e.perms & UC_PROT_EXEC) && (!(perms & UC_PROT_EXEC) || !keep || moved || gains_write)) {
			if (gains_write) lost |= 1; // its TLB entries may let it execute
			// Unicorn finds the code to drop through the physical page the TLB gives
			// the address: an entry left from another physical page must not answer.
			vemu_drop_code(uc, st, e.begin > begin ? e.begin : begin, e.end < end ? e.end : end);
		}
		if (moved) lost |= VEMU_FLUSH_MOVED;
	}
	if (lost) {
		// Unicorn has no call that empties the TLB of a few pages: the whole TLB goes
		// (0.2-1.7 us) before guest code runs again.
		*flush_grant |= 1 | (lost & VEMU_FLUSH_MOVED);
	}
	// Three insertions, each splitting at most one node per level and adding a root.
	int room = reserve(t, 3 * (t->height + 2));
	while (vemu_pt_next(t, begin, &e) && e.begin < end) {
		if (e.begin < begin) {
			lo = (struct vemu_region){e.begin, begin, e.perms};
			has_lo = 1;
		}
		if (e.end > end) {
			hi = (struct vemu_region){end, e.end, e.perms};
			has_hi = 1;
		}
		delete(t, e.end);
	}
	if (!room) return -1;
	if (keep) {
		struct vemu_region m = {begin, end, perms};
		if (has_lo && lo.perms == perms) {
			m.begin = lo.begin;
			has_lo = 0;
		} else if (!has_lo && begin > 0 && vemu_pt_next(t, begin - 1, &e) && e.end == begin && e.perms == perms) {
			m.begin = e.begin;
			delete(t, e.end);
		}
		if (has_hi && hi.perms == perms) {
			m.end = hi.end;
			has_hi = 0;
		} else if (!has_hi && vemu_pt_next(t, end, &e) && e.begin == end && e.perms == perms) {
			m.end = e.end;
			delete(t, e.end);
		}
		insert(t, &m);
	}
	if (has_lo) insert(t, &lo);
	if (has_hi) insert(t, &hi);
	return 0;
}

static void free_nodes(node *x) {
	if (!x->leaf)
		for (uint32_t i = 0; i < x->n; i++) free_nodes(x->u.child[i]);
	free(x);
}

// vemu_pt_free empties the table and frees its memory.
void vemu_pt_free(struct vemu_ptab *t) {
	if (t->root) free_nodes(t->root);
	while (t->spare) {
		node *x = t->spare;
		t->spare = x->u.child[0];
		free(x);
	}
	memset(t, 0, sizeof *t);
}

// check_node returns the number of ranges under x at depth, or -1 if a rule is broken:
// keys in order and each the last end below it, ranges disjoint and not empty, every
// node but the root at least half full, every leaf at the same depth.
static long check_node(const node *x, uint32_t depth, uint32_t height, int root, uint64_t *prev_end) {
	if (x->n == 0 || x->n > W || (!root && x->n < HALF) || (root && !x->leaf && x->n < 2)) return -1;
	if (!x->leaf != (depth + 1 < height)) return -1;
	long count = 0;
	for (uint32_t i = 0; i < x->n; i++) {
		if (x->leaf) {
			if (x->u.r.begin[i] >= x->key[i] || x->u.r.begin[i] < *prev_end) return -1;
			*prev_end = x->key[i];
			count++;
			continue;
		}
		long c = check_node(x->u.child[i], depth + 1, height, 0, prev_end);
		if (c < 0 || last_key(x->u.child[i]) != x->key[i]) return -1;
		count += c;
	}
	return count;
}

// vemu_pt_check says whether the table keeps the rules of its tree (for tests).
int vemu_pt_check(struct vemu_ptab *t) {
	uint64_t prev = 0;
	if (!t->root) return t->height == 0 && t->count == 0;
	return check_node(t->root, 0, t->height, 1, &prev) == (long)t->count;
}
