/* remapfile checks remap_file_pages(2), which Linux emulates by mapping the file again at
 * the new offset: what the pages show and where writes go, the argument checks, ranges
 * that cross mappings, shared anonymous and secret memory, a sealed range, a process
 * that shares the mapping across fork (it keeps seeing the old offsets), and a thousand
 * pages remapped one by one. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef SYS_mseal
#define SYS_mseal 462
#endif

#define NPAGES 1000

static long pg;

static long rfp(void *a, size_t n, unsigned long prot, size_t pgoff, unsigned long flags)
{
	return syscall(SYS_remap_file_pages, a, n, prot, pgoff, flags);
}

/* touch_dies reports the signal that ends a child reading p, or 0. */
static int touch_dies(volatile char *p)
{
	pid_t pid = fork();
	if (pid == 0) {
		(void)*p;
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

/* offset_at prints the file offset /proc/self/maps shows for the mapping that starts at p. */
static void offset_at(const char *what, void *p)
{
	char line[512], want[32];
	snprintf(want, sizeof want, "%lx-", (unsigned long)p);
	FILE *f = fopen("/proc/self/maps", "r");
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, want, strlen(want)) == 0) {
			char perms[8], off[32];
			sscanf(line, "%*s %7s %31s", perms, off);
			printf("%s: %s %s\n", what, perms, off);
		}
	}
	if (f)
		fclose(f);
}

/* pages returns pages[0..4) of m as a string of their first bytes. */
static const char *firsts(const char *m, int n)
{
	static char s[16];
	for (int i = 0; i < n; i++)
		s[i] = m[i * pg];
	s[n] = 0;
	return s;
}

static int temp_file(const char *dir, int npages)
{
	char path[256];
	snprintf(path, sizeof path, "%s/remapXXXXXX", dir);
	int fd = mkstemp(path);
	unlink(path);
	char *b = malloc(pg);
	for (int i = 0; i < npages; i++) {
		memset(b, 'a' + i % 26, pg);
		snprintf(b + 1, 16, "%d", i);
		write(fd, b, pg);
	}
	free(b);
	return fd;
}

static void fork_cases(int fd)
{
	char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int go[2], done[2];
	pipe(go);
	pipe(done);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		read(go[0], &c, 1);
		/* The parent remapped its page 0 to file page 3 and wrote there. */
		int ok = m[0] == 'a' && m[3 * pg] == 'P';
		ok = ok && rfp(m + pg, pg, 0, 0, 0) == 0 && m[pg] == 'a';
		m[2 * pg] = 'C';
		write(done[1], &c, 1);
		_exit(ok ? 0 : 1);
	}
	expect("the parent remaps page 0 to file page 3", rfp(m, pg, 0, 3, 0) == 0 && m[0] == 'd');
	m[0] = 'P';
	write(go[1], "x", 1);
	char c;
	read(done[0], &c, 1);
	int st;
	waitpid(pid, &st, 0);
	expect("the child keeps the old offsets and sees the parent's write", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	expect("the child's remap leaves the parent's page 1", m[pg] == 'b');
	expect("the child's write to page 2 is seen", m[2 * pg] == 'C');
	munmap(m, 4 * pg);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pg = sysconf(_SC_PAGESIZE);
	const char *dir = argc > 1 ? argv[1] : ".";
	int fd = temp_file(dir, 8);
	char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	printf("before: %s\n", firsts(m, 4));

	expect_err("prot", rfp(m, pg, PROT_READ, 2, 0), EINVAL);
	expect("other flags are ignored", rfp(m, pg, 0, 2, 0x12345) == 0);
	printf("page 0 at file page 2: %s\n", firsts(m, 4));
	expect("MAP_NONBLOCK", rfp(m, pg, 0, 5, MAP_NONBLOCK) == 0 && m[0] == 'f');
	expect_err("size 0", rfp(m, 0, 0, 1, 0), EINVAL);
	expect_err("less than a page", rfp(m, pg - 1, 0, 1, 0), EINVAL);
	expect("a start inside a page is rounded down", rfp(m + 5, pg, 0, 6, 0) == 0 && m[0] == 'g');
	expect_err("a page offset that wraps", rfp(m, 2 * pg, 0, ~0UL, 0), EINVAL);
	expect_err("a size that wraps", rfp(m, -pg, 0, 0, 0), EINVAL);
	expect_err("a page offset past off_t", rfp(m, pg, 0, 1UL << 60, 0), EOVERFLOW);
	expect("a page offset far past the end", rfp(m + pg, pg, 0, 1UL << 30, 0) == 0);
	expect("touching it is SIGBUS", touch_dies(m + pg) == SIGBUS);
	offset_at("maps there", m + pg);
	expect("and back", rfp(m + pg, pg, 0, 1, 0) == 0 && m[pg] == 'b');
	expect_err("past the mapping's end", rfp(m + 2 * pg, 4 * pg, 0, 0, 0), EINVAL);
	expect_err("a huge size", rfp(m, 1UL << 46, 0, 0, 0), EINVAL);
	expect_err("unmapped", rfp((void *)0x10000, pg, 0, 0, 0), EINVAL);
	expect_err("the vsyscall page", rfp((void *)0xffffffffff600000UL, pg, 0, 0, 0), EINVAL);

	m[0] = 'W';
	char c = 0;
	pread(fd, &c, 1, 6 * pg);
	expect("a write reaches the file at the new offset", c == 'W');
	pread(fd, &c, 1, 0);
	expect("and not at the old one", c == 'a');

	/* Two mappings of the file with the same permissions: one range. */
	expect("a range over two mappings of the file", rfp(m, 2 * pg, 0, 4, 0) == 0);
	printf("pages 0-1 at file pages 4-5: %s\n", firsts(m, 4));
	offset_at("maps there", m);
	mprotect(m + 3 * pg, pg, PROT_READ);
	expect_err("a range over two permissions", rfp(m + 2 * pg, 2 * pg, 0, 0, 0), EINVAL);
	munmap(m + 2 * pg, pg);
	expect_err("a range over a hole", rfp(m + pg, 3 * pg, 0, 0, 0), EINVAL);

	char *p = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	expect_err("a private file mapping", rfp(p, pg, 0, 1, 0), EINVAL);
	char *ap = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect_err("private anonymous memory", rfp(ap, pg, 0, 0, 0), EINVAL);
	char *other = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	mmap(other + 2 * pg, pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	expect_err("a range from a file into anonymous memory", rfp(other, 3 * pg, 0, 0, 0), EINVAL);
	expect_err("a range from anonymous memory into a file", rfp(other + 2 * pg, 2 * pg, 0, 0, 0), EINVAL);

	/* Shared anonymous memory is the object of its own mapping. */
	char *an = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	an[0] = 'X';
	an[pg] = 'Y';
	an[2 * pg] = 'Z';
	expect("shared anonymous memory", rfp(an, pg, 0, 2, 0) == 0 && an[0] == 'Z');
	an[0] = 'z';
	expect("one object under both pages", an[2 * pg] == 'z');
	expect("past its end", rfp(an + pg, pg, 0, 9, 0) == 0);
	expect("touching it is SIGBUS", touch_dies(an + pg) == SIGBUS);

	/* A sealed range. */
	char *se = mmap(NULL, 2 * pg, PROT_READ, MAP_SHARED, fd, 0);
	if (syscall(SYS_mseal, se, 2 * pg, 0) == 0)
		expect_err("a sealed range", rfp(se, pg, 0, 3, 0), EPERM);
	expect("still the old page", se[0] == 'a');

	/* Secret memory. */
	int sfd = syscall(447, 0);
	if (sfd >= 0) {
		ftruncate(sfd, 2 * pg);
		char *s = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
		s[0] = 'p';
		s[pg] = 'q';
		expect("secret memory", rfp(s, pg, 0, 1, 0) == 0 && s[0] == 'q');
	}

	fork_cases(fd);

	/* A mapping made before its file grew shows the new pages, in the process that
	 * touches them and in what the kernel copies into them. */
	int gfd = temp_file(dir, 0);
	char *g = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, gfd, 0);
	expect("an empty file's mapping is SIGBUS", touch_dies(g) == SIGBUS);
	ftruncate(gfd, pg + 1);
	expect("after it grows, its pages are not", touch_dies(g) == 0 && touch_dies(g + pg) == 0);
	expect("but past them still", touch_dies(g + 2 * pg) == SIGBUS);
	g[5] = 'G';
	c = 0;
	pread(gfd, &c, 1, 5);
	expect("a write reaches the file", c == 'G');
	ftruncate(gfd, 3 * pg);
	int gp[2];
	pipe(gp);
	write(gp[1], "grown", 5);
	expect("read(2) into a page it grew into", read(gp[0], g + 2 * pg, 5) == 5 && memcmp(g + 2 * pg, "grown", 5) == 0);
	expect("a remap into the grown part", rfp(g, pg, 0, 2, 0) == 0 && memcmp(g, "grown", 5) == 0);

	/* mremap grows a shared file mapping over the file's next pages, in place or moved. */
	char *mr = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *grown = mremap(mr, pg, 2 * pg, MREMAP_MAYMOVE);
	expect("mremap moves and grows it", grown != MAP_FAILED && grown[pg] == 'b');
	grown[pg + 100] = 'M';
	c = 0;
	pread(fd, &c, 1, pg + 100);
	expect("a write to the grown part reaches the file", c == 'M');
	munmap(grown + pg, pg);
	expect("mremap grows it in place", mremap(grown, pg, 2 * pg, 0) == grown && grown[pg + 100] == 'M');
	expect("and over a remapped page", rfp(grown, pg, 0, 3, 0) == 0 && mremap(grown, pg, 2 * pg, MREMAP_MAYMOVE) != MAP_FAILED);

	/* A thousand pages, remapped in reverse one by one. */
	int big = temp_file(dir, NPAGES);
	char *bm = mmap(NULL, NPAGES * pg, PROT_READ | PROT_WRITE, MAP_SHARED, big, 0);
	int ok = 1;
	for (int i = 0; i < NPAGES; i++)
		ok = ok && rfp(bm + i * pg, pg, 0, NPAGES - 1 - i, 0) == 0;
	for (int i = 0; i < NPAGES && ok; i++)
		ok = atoi(bm + i * pg + 1) == NPAGES - 1 - i;
	expect("a thousand pages in reverse", ok);
	expect("all in one call back", rfp(bm, NPAGES * pg, 0, 0, 0) == 0 && atoi(bm + 7 * pg + 1) == 7);
	return failures ? 1 : 0;
}
