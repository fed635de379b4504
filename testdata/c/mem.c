/* mem exercises the address space: malloc, mmap, mprotect, munmap, mremap, brk, madvise. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "errnames.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif

#define PAGE 4096UL

static int failures;

static void expect(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "yes" : "NO");
	if (!ok)
		failures++;
}

/* fill writes a pattern derived from seed to every 8-byte word (bytes for odd sizes). */
static void fill(unsigned char *p, size_t n, unsigned seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		memcpy(p + i, &x, 8);
	}
	for (; i < n; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (unsigned char)(x >> 56);
	}
}

/* sum hashes n bytes, a word at a time where it can. */
static uint64_t sum(const unsigned char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull, w;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 1099511628211ull;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static int all_zero(const unsigned char *p, size_t n)
{
	uint64_t w, acc = 0;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		acc |= w;
	}
	for (; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

int main(int argc, char **argv)
{
	(void)argc;

	/* malloc, small and big */
	uint64_t total = 0;
	for (int i = 1; i <= 200; i++) {
		unsigned char *p = malloc(i * 7);
		if (!p) {
			printf("malloc small failed\n");
			return 1;
		}
		fill(p, i * 7, i);
		total += sum(p, i * 7);
		free(p);
	}
	printf("malloc small checksum: %016llx\n", (unsigned long long)total);
	size_t bign = 16 << 20;
	unsigned char *big = malloc(bign);
	expect("malloc 16MiB", big != NULL);
	if (big) {
		fill(big, bign, 7);
		printf("malloc big checksum: %016llx\n", (unsigned long long)sum(big, bign));
		big = realloc(big, bign * 2);
		expect("realloc 32MiB", big != NULL);
		if (big) {
			printf("realloc keeps data: %016llx\n", (unsigned long long)sum(big, bign));
			fill(big + bign, bign, 8);
			printf("realloc tail checksum: %016llx\n", (unsigned long long)sum(big + bign, bign));
		}
		free(big);
	}
	unsigned char *z = calloc(1 << 20, 3);
	expect("calloc zeroed", z && all_zero(z, 3 << 20));
	free(z);

	/* anonymous mappings */
	size_t n = 256 * PAGE;
	unsigned char *a = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect("mmap anon", a != MAP_FAILED);
	expect("mmap anon page aligned", ((uintptr_t)a & (PAGE - 1)) == 0);
	expect("mmap anon zeroed", all_zero(a, n));
	fill(a, n, 1);
	uint64_t asum = sum(a, n);
	printf("anon checksum: %016llx\n", (unsigned long long)asum);

	/* MAP_FIXED over part of it replaces the pages */
	unsigned char *f = mmap(a + 16 * PAGE, 4 * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	expect("mmap fixed at requested address", f == a + 16 * PAGE);
	expect("mmap fixed zeroed", all_zero(f, 4 * PAGE));
	fill(f, 4 * PAGE, 1 + 16);

	/* MAP_FIXED_NOREPLACE over an existing mapping fails */
	errno = 0;
	void *nr = mmap(a + 32 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	printf("mmap fixed_noreplace over mapping: %s\n", nr == MAP_FAILED ? errname(errno) : "mapped");
	if (nr != MAP_FAILED)
		failures++;

	/* munmap a hole, then MAP_FIXED_NOREPLACE into the hole succeeds */
	expect("munmap hole", munmap(a + 64 * PAGE, 8 * PAGE) == 0);
	nr = mmap(a + 64 * PAGE, 8 * PAGE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	expect("mmap fixed_noreplace into hole", nr == a + 64 * PAGE);
	expect("hole zeroed", nr != MAP_FAILED && all_zero(nr, 8 * PAGE));

	/* mprotect */
	expect("mprotect read-only", mprotect(a, 4 * PAGE, PROT_READ) == 0);
	expect("read after mprotect", sum(a, 4 * PAGE) == sum(a, 4 * PAGE));
	expect("mprotect read-write", mprotect(a, 4 * PAGE, PROT_READ | PROT_WRITE) == 0);
	a[0] ^= 0xff;
	a[0] ^= 0xff;
	errno = 0;
	int r = syscall(SYS_mprotect, a + 1, PAGE, PROT_READ);
	printf("mprotect unaligned: %s\n", r < 0 ? errname(errno) : "OK");
	errno = 0;
	r = syscall(SYS_mprotect, a, PAGE, PROT_READ | 0x1000);
	printf("mprotect bad prot: %s\n", r < 0 ? errname(errno) : "OK");

	/* munmap failure modes */
	errno = 0;
	r = syscall(SYS_munmap, a + 1, PAGE);
	printf("munmap unaligned: %s\n", r < 0 ? errname(errno) : "OK");
	errno = 0;
	r = syscall(SYS_munmap, a, 0);
	printf("munmap zero length: %s\n", r < 0 ? errname(errno) : "OK");

	/* mremap grow in place or move, and an explicit move */
	size_t m = 16 * PAGE;
	unsigned char *g = mmap(NULL, m, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fill(g, m, 3);
	uint64_t gsum = sum(g, m);
	unsigned char *g2 = mremap(g, m, 4 * m, MREMAP_MAYMOVE);
	expect("mremap grow", g2 != MAP_FAILED);
	expect("mremap grow keeps data", sum(g2, m) == gsum);
	expect("mremap grow new part zeroed", all_zero(g2 + m, 3 * m));
	fill(g2 + m, 3 * m, 4);
	printf("grown checksum: %016llx\n", (unsigned long long)sum(g2, 4 * m));
	unsigned char *g3 = mremap(g2, 4 * m, m, 0);
	expect("mremap shrink in place", g3 == g2);
	expect("mremap shrink keeps data", sum(g3, m) == gsum);
	/* move to a fixed destination inside a reserved range */
	unsigned char *dst = mmap(NULL, 2 * m, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *g4 = mremap(g3, m, m, MREMAP_MAYMOVE | MREMAP_FIXED, dst + m);
	expect("mremap fixed move", g4 == dst + m);
	expect("mremap fixed move keeps data", g4 != MAP_FAILED && sum(g4, m) == gsum);
	errno = 0;
	void *bad = mremap(a + 1, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
	printf("mremap unaligned: %s\n", bad == MAP_FAILED ? errname(errno) : "OK");
	munmap(dst, 2 * m);

	/* madvise DONTNEED on a private anonymous mapping reads back zeros */
	expect("madvise DONTNEED", madvise(a + 128 * PAGE, 8 * PAGE, MADV_DONTNEED) == 0);
	expect("DONTNEED zeroes", all_zero(a + 128 * PAGE, 8 * PAGE));
	expect("madvise WILLNEED", madvise(a, 8 * PAGE, MADV_WILLNEED) == 0);
	errno = 0;
	r = syscall(SYS_madvise, a + 1, PAGE, MADV_NORMAL);
	printf("madvise unaligned: %s\n", r < 0 ? errname(errno) : "OK");
	fill(a + 128 * PAGE, 8 * PAGE, 1 + 128);
	expect("munmap anon", munmap(a, n) == 0);

	/* private file mapping of our own executable: copy on write, file unchanged */
	int fd = open("/proc/self/exe", O_RDONLY);
	if (fd < 0)
		fd = open(argv[0], O_RDONLY);
	expect("open self", fd >= 0);
	unsigned char *e = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	expect("mmap private file", e != MAP_FAILED);
	if (e != MAP_FAILED) {
		expect("file mapping has ELF magic", memcmp(e, "\177ELF", 4) == 0);
		e[0] = 'X';
		unsigned char hdr[4];
		pread(fd, hdr, 4, 0);
		expect("private write does not reach file", memcmp(hdr, "\177ELF", 4) == 0);
		unsigned char *e2 = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, PAGE);
		unsigned char pg[PAGE];
		pread(fd, pg, PAGE, PAGE);
		expect("offset mapping matches pread", e2 != MAP_FAILED && memcmp(e2, pg, PAGE) == 0);
		munmap(e2, PAGE);
		munmap(e, 2 * PAGE);
	}
	errno = 0;
	void *uo = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 123);
	printf("mmap unaligned offset: %s\n", uo == MAP_FAILED ? errname(errno) : "OK");
	close(fd);
	errno = 0;
	void *bf = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 99, 0);
	printf("mmap bad fd: %s\n", bf == MAP_FAILED ? errname(errno) : "OK");
	errno = 0;
	void *zl = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("mmap zero length: %s\n", zl == MAP_FAILED ? errname(errno) : "OK");

	/* brk through the raw system call: musl's sbrk only answers sbrk(0) */
	uintptr_t b0 = syscall(SYS_brk, 0);
	expect("brk(0) non-zero", b0 != 0);
	uintptr_t b1 = syscall(SYS_brk, b0 + (1 << 20));
	expect("brk grow", b1 == b0 + (1 << 20));
	expect("brk(0) after grow", (uintptr_t)syscall(SYS_brk, 0) == b1);
	if (b1 == b0 + (1 << 20)) {
		fill((unsigned char *)b0, 1 << 20, 9);
		printf("brk checksum: %016llx\n", (unsigned long long)sum((unsigned char *)b0, 1 << 20));
	}
	expect("brk shrink", (uintptr_t)syscall(SYS_brk, b0) == b0);
	expect("brk below start fails", (uintptr_t)syscall(SYS_brk, 4096) == b0);

	printf("failures: %d\n", failures);
	return failures ? 1 : 0;
}
