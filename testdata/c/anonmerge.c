/* anonmerge checks that /proc/self/maps and smaps show adjacent private anonymous
 * mappings alike in everything as one line, as Linux merges them (a fresh mapping beside
 * one already touched, a hole filled again, a change of protection undone), and keeps
 * apart what differs: the protection, a file's pages, shared memory, a locked part,
 * and the flags smaps shows in VmFlags: nr (MAP_NORESERVE), ac (memory charged once
 * writable), hg and nh (MADV_HUGEPAGE, MADV_NOHUGEPAGE, MAP_STACK). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"

#define MB (1UL << 20)

/* lines counts the lines of maps that meet [lo, hi); rss (when not NULL) gets the sum of
 * their smaps Rss in kB. */
static int lines(char *lo, char *hi, long *rss)
{
	FILE *f = fopen(rss ? "/proc/self/smaps" : "/proc/self/maps", "r");
	char l[512];
	int n = 0, in = 0;
	if (rss)
		*rss = 0;
	while (f && fgets(l, sizeof l, f)) {
		unsigned long a, b;
		long kb;
		if (sscanf(l, "%lx-%lx ", &a, &b) == 2 && strchr(l, '-') < strchr(l, ' ')) {
			in = b > (unsigned long)lo && a < (unsigned long)hi;
			n += in;
		} else if (in && rss && sscanf(l, "Rss: %ld kB", &kb) == 1) {
			*rss += kb;
		}
	}
	if (f)
		fclose(f);
	return n;
}

/* has says whether the VmFlags of the mapping at p have flag. */
static int has(char *p, const char *flag)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char l[512];
	int in = 0, found = 0;
	while (f && fgets(l, sizeof l, f)) {
		unsigned long a, b;
		if (sscanf(l, "%lx-%lx ", &a, &b) == 2 && strchr(l, '-') < strchr(l, ' '))
			in = (unsigned long)p >= a && (unsigned long)p < b;
		else if (in && strncmp(l, "VmFlags:", 8) == 0) {
			char want[8];
			snprintf(want, sizeof want, " %s ", flag);
			found = strstr(l + 7, want) != NULL;
		}
	}
	if (f)
		fclose(f);
	return found;
}

static char *map_at(char *at, size_t len, int prot, int flags)
{
	return mmap(at, len, prot, flags | MAP_FIXED, -1, 0);
}

int main(void)
{
	int priv = MAP_PRIVATE | MAP_ANONYMOUS, rw = PROT_READ | PROT_WRITE;
	/* A reservation that gives room at known addresses. */
	char *r = mmap(NULL, 16 * MB, PROT_NONE, priv, -1, 0);
	if (r == MAP_FAILED)
		return 2;
	munmap(r, 16 * MB);

	char *a = map_at(r + 4 * MB, MB, rw, priv);
	a[0] = 1;
	char *b = map_at(r + 3 * MB, MB, rw, priv);
	expect("a fresh mapping below a touched one is one line", lines(b, a + MB, NULL) == 1);
	b[0] = 1;
	long rss;
	expect("one smaps entry", lines(b, a + MB, &rss) == 1);
	expect("its Rss counts the pages of both", rss >= 8);
	char *c = map_at(r + 5 * MB, MB, rw, priv);
	c[4096] = 1;
	expect("and one above it too", lines(b, c + MB, NULL) == 1);

	mprotect(a, 4096, PROT_READ);
	expect("a protection change splits it", lines(b, c + MB, NULL) == 3);
	mprotect(a, 4096, rw);
	expect("undone, it is one again", lines(b, c + MB, NULL) == 1);

	munmap(a + 4096, 8192);
	expect("a hole makes two", lines(b, c + MB, NULL) == 2);
	map_at(a + 4096, 8192, rw, priv);
	expect("filled again, one", lines(b, c + MB, NULL) == 1);

	char *d = map_at(r + 2 * MB, MB, PROT_READ, priv);
	expect("a different protection beside it stays apart", lines(d, c + MB, NULL) == 2);
	munmap(d, MB);

	char *s = map_at(r + 2 * MB, MB, rw, MAP_SHARED | MAP_ANONYMOUS);
	expect("shared memory beside it stays apart", lines(s, c + MB, NULL) == 2);
	munmap(s, MB);

	int fd = open("/proc/self/exe", O_RDONLY);
	char *f = mmap(r + 2 * MB, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0);
	if (f != MAP_FAILED) {
		f[0] = 1;
		char *g = map_at(r + 2 * MB + 4096, MB - 4096, rw, priv);
		expect("a file's copied page beside it stays apart", lines(f, g + 1, NULL) == 2);
		expect("the anonymous part joins the rest", lines(g, c + MB, NULL) == 1);
		munmap(f, MB);
	}

	char *n = map_at(r + 2 * MB, MB, rw, priv | MAP_NORESERVE);
	expect("MAP_NORESERVE shows nr", has(n, "nr") && !has(n, "ac") && has(b, "ac") && !has(b, "nr"));
	expect("and stays apart", lines(n, c + MB, NULL) == 2);
	munmap(n, MB);
	n = map_at(r + 2 * MB, MB, rw, priv | MAP_STACK);
	expect("MAP_STACK shows nh", has(n, "nh"));
	expect("and stays apart", lines(n, c + MB, NULL) == 2);
	munmap(n, MB);
	n = map_at(r + 2 * MB, MB, PROT_READ, priv);
	expect("read-only memory is not charged", !has(n, "ac"));
	mprotect(n, MB, rw);
	mprotect(n, MB, PROT_READ);
	expect("once writable it is", has(n, "ac"));
	char *m = map_at(r + 1 * MB, MB, PROT_READ, priv);
	expect("and stays apart from memory never writable", lines(m, n + MB, NULL) == 2);
	munmap(m, 2 * MB);

	madvise(b, 2 * 4096, MADV_NOHUGEPAGE);
	expect("MADV_NOHUGEPAGE shows nh", has(b, "nh") && !has(b, "hg"));
	expect("and splits the mapping", lines(b, c + MB, NULL) == 2);
	madvise(b, 4096, MADV_HUGEPAGE);
	expect("MADV_HUGEPAGE shows hg", has(b, "hg") && !has(b, "nh"));
	expect("three parts", lines(b, c + MB, NULL) == 3);
	munmap(b, 2 * 4096);
	map_at(b, 2 * 4096, rw, priv);
	expect("mapped again, one", lines(b, c + MB, NULL) == 1);

	if (mlock(b, 4096) == 0) {
		expect("a locked part stays apart", lines(b, c + MB, NULL) == 2);
		munlock(b, 4096);
		expect("unlocked, one again", lines(b, c + MB, NULL) == 1);
	} else {
		printf("mlock: skipped\n");
	}
	return failures != 0;
}
