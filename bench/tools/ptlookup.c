/* ptlookup: the cost of one lookup in the TLB fill hook's permission table (emu/ptab.c),
   against a binary search over a sorted array of the same ranges (the table before it
   was a tree), for tables of 2 to 65,536 ranges and addresses drawn at random in them.
   Prints the best of 7 rounds of 2^20 lookups for each. Build from the repository root:
     gcc -O2 -Iemu -o ptlookup bench/tools/ptlookup.c emu/ptab.c -l:libunicorn.a -lm -lpthread */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "hooks.h"

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t by_array(const struct vemu_region *r, uint64_t n, uint64_t addr)
{
	uint64_t lo = 0, hi = n;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (r[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && r[lo].begin <= addr ? r[lo].perms : 0;
}

static uint64_t by_tree(const struct vemu_ptab *t, uint64_t addr)
{
	uint32_t i;
	const struct vemu_pt_node *x = vemu_pt_seek(t, addr, &i);
	return x && x->u.r.begin[i] <= addr ? x->u.r.perms[i] : 0;
}

enum { Q = 1 << 20, PAGES = 4 };

static uint64_t q[Q];

int main(void)
{
	static const int sizes[] = {2, 8, 16, 30, 64, 256, 4096, 16384, 65536};
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		int n = sizes[s];
		struct vemu_region *r = malloc(n * sizeof *r);
		struct vemu_ptab t = {0};
		uint32_t flush = 0;
		for (int i = 0; i < n; i++) {
			r[i].begin = (uint64_t)2 * i * PAGES * 4096;
			r[i].end = r[i].begin + PAGES * 4096;
			r[i].perms = 1 + (i & 1); // never executable: no translated code to drop
		}
		for (int i = n - 1; i >= 0; i--)
			vemu_pt_set(NULL, &t, &flush, r[i].begin, r[i].end, r[i].perms, 1);
		srand(1);
		for (int i = 0; i < Q; i++)
			q[i] = (uint64_t)rand() % ((uint64_t)2 * n * PAGES * 4096);
		double best[2] = {1e9, 1e9};
		uint64_t diff = 0;
		for (int round = 0; round < 7; round++) {
			double a = now();
			for (int i = 0; i < Q; i++)
				diff += by_array(r, n, q[i]);
			double b = now();
			for (int i = 0; i < Q; i++)
				diff -= by_tree(&t, q[i]);
			double c = now();
			best[0] = b - a < best[0] ? b - a : best[0];
			best[1] = c - b < best[1] ? c - b : best[1];
		}
		printf("%6d ranges: binary search %6.1f ns, tree %6.1f ns (%u levels)%s\n", n,
		       best[0] * 1e9 / Q, best[1] * 1e9 / Q, t.height, diff ? "  DIFFERENT ANSWERS" : "");
		vemu_pt_free(&t);
		free(r);
	}
	return 0;
}
