/* thpalign checks where mmap places private anonymous memory without a hint: a length
 * that is a multiple of 2 MiB starts on a 2 MiB boundary, as Linux 6.7 and later place it
 * for transparent huge pages (jemalloc's and Go's heaps), whatever the protection or
 * MAP_STACK and MAP_NORESERVE; a free hint is kept as given. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

#include "check.h"

#define MB (1UL << 20)

/* aligned maps len bytes eight times, a page apart, and says whether all were aligned. */
static int aligned(size_t len, int prot, int flags)
{
	int n = 0;
	for (int i = 0; i < 8; i++) {
		char *p = mmap(NULL, len, prot, flags, -1, 0);
		if (p == MAP_FAILED)
			return 0;
		n += ((uintptr_t)p & (2 * MB - 1)) == 0;
		/* A page that leaves the next search unaligned. */
		mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	return n == 8;
}

int main(void)
{
	int priv = MAP_PRIVATE | MAP_ANONYMOUS, rw = PROT_READ | PROT_WRITE;
	expect("2 MiB", aligned(2 * MB, rw, priv));
	expect("4 MiB", aligned(4 * MB, rw, priv));
	expect("32 MiB", aligned(32 * MB, rw, priv));
	expect("PROT_NONE", aligned(2 * MB, PROT_NONE, priv));
	expect("MAP_STACK", aligned(2 * MB, rw, priv | MAP_STACK));
	expect("MAP_NORESERVE", aligned(2 * MB, rw, priv | MAP_NORESERVE));

	char *hint = (char *)0x200000001000;
	char *p = mmap(hint, 2 * MB, rw, priv, -1, 0);
	expect("a free hint is kept", p == hint);

	char *above = mmap(NULL, 4096, rw, priv, -1, 0);
	char *big = mmap(NULL, 2 * MB, rw, priv, -1, 0);
	char *next = mmap(NULL, 4096, rw, priv, -1, 0);
	/* Linux searches for 4 MiB and takes the highest aligned start in it: the room left
	 * is above the mapping, or, when the search's start was aligned, all below it. */
	expect("the next page goes in the room left around it",
	       (next > big && next + 4096 <= above) || next + 4096 == big);
	return failures != 0;
}
