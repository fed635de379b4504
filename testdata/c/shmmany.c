/* shmmany DIR [PART]: many shared mappings, of a file and of shared anonymous memory.
   Thousands of one-page MAP_SHARED mappings, written through the mappings and seen by
   read(2) and by a forked child (whose writes the parent sees); pages of shared and
   private memory alternating; one file page mapped thousands of times; parts of shared
   mappings unmapped, made read-only and moved with mremap; and mappings made until the
   system's limit (ENOMEM), after which freeing some lets one more be made. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define PG 4096L
#define MANY 6000

static void must(int ok, const char *what)
{
	if (!ok) {
		perror(what);
		exit(1);
	}
}

static int make_file(const char *dir, const char *name, long pages)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	must(fd >= 0, "open");
	must(ftruncate(fd, pages * PG) == 0, "ftruncate");
	return fd;
}

static sigjmp_buf env;
static void on_segv(int sig)
{
	siglongjmp(env, sig);
}

/* probe reads (or writes) *p and returns 0 or the signal it raised. */
static int probe(volatile char *p, int write)
{
	int sig = sigsetjmp(env, 1);
	if (sig)
		return sig;
	if (write)
		*p = 1;
	else
		(void)*p;
	return 0;
}

/* child runs f in a child process and returns its exit status. */
static int child(void (*f)(char **, long), char **m, long n)
{
	pid_t p = fork();
	must(p >= 0, "fork");
	if (p == 0) {
		f(m, n);
		_exit(0);
	}
	int st;
	must(waitpid(p, &st, 0) == p, "waitpid");
	return st;
}

static void child_writes(char **m, long n)
{
	for (long i = 0; i < n; i++)
		m[i][1] = (char)(i * 7);
}

static void many_file(const char *dir)
{
	int fd = make_file(dir, "many.bin", MANY);
	char **m = calloc(MANY, sizeof *m);
	long ok = 1;
	for (long i = 0; i < MANY; i++) {
		m[i] = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, i * PG);
		if (m[i] == MAP_FAILED) {
			printf("file mmap %ld failed: %s\n", i, errname(errno));
			exit(1);
		}
		m[i][0] = (char)i;
	}
	char b[2];
	for (long i = 0; i < MANY; i++) {
		must(pread(fd, b, 1, i * PG) == 1, "pread");
		ok &= b[0] == (char)i;
	}
	expect("file: writes through each mapping seen by read", ok);
	expect("file: child exits 0", child(child_writes, m, MANY) == 0);
	ok = 1;
	for (long i = 0; i < MANY; i++) {
		must(pread(fd, b, 2, i * PG) == 2, "pread");
		ok &= m[i][1] == (char)(i * 7) && b[1] == (char)(i * 7);
	}
	expect("file: the child's writes seen in the parent and the file", ok);
	/* Unmap every other one, then the rest. */
	for (long i = 0; i < MANY; i += 2)
		must(munmap(m[i], PG) == 0, "munmap");
	ok = 1;
	for (long i = 1; i < MANY; i += 2)
		ok &= m[i][0] == (char)i;
	expect("file: the others still read after unmapping every other one", ok);
	for (long i = 1; i < MANY; i += 2)
		must(munmap(m[i], PG) == 0, "munmap");
	free(m);
	close(fd);
}

static void many_anon(void)
{
	char **m = calloc(MANY, sizeof *m);
	for (long i = 0; i < MANY; i++) {
		m[i] = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (m[i] == MAP_FAILED) {
			printf("anon mmap %ld failed: %s\n", i, errname(errno));
			exit(1);
		}
		m[i][0] = (char)i;
		/* A private page beside every other one: nothing joins. */
		if (i % 2 == 0)
			must(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != MAP_FAILED, "mmap private");
	}
	expect("anon: child exits 0", child(child_writes, m, MANY) == 0);
	long ok = 1;
	for (long i = 0; i < MANY; i++)
		ok &= m[i][0] == (char)i && m[i][1] == (char)(i * 7);
	expect("anon: the child's writes seen in the parent", ok);
	for (long i = 0; i < MANY; i++)
		must(munmap(m[i], PG) == 0, "munmap");
	free(m);
}

static void alternate(const char *dir)
{
	enum { N = 512 };
	int fd = make_file(dir, "alt.bin", N);
	char *base = mmap(NULL, N * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	must(base != MAP_FAILED, "mmap reserve");
	for (long i = 0; i < N; i++) {
		void *p = i % 2 ? mmap(base + i * PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
				: mmap(base + i * PG, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, i * PG);
		must(p == base + i * PG, "mmap fixed");
		base[i * PG] = 'p';
	}
	pid_t p = fork();
	must(p >= 0, "fork");
	if (p == 0) {
		for (long i = 0; i < N; i++)
			base[i * PG] = 'c';
		_exit(0);
	}
	must(waitpid(p, NULL, 0) == p, "waitpid");
	long shared_ok = 1, private_ok = 1;
	for (long i = 0; i < N; i++) {
		if (i % 2)
			private_ok &= base[i * PG] == 'p';
		else
			shared_ok &= base[i * PG] == 'c';
	}
	expect("alternate: the child's writes seen in shared pages", shared_ok);
	expect("alternate: and not in private ones", private_ok);
	must(munmap(base, N * PG) == 0, "munmap");
	close(fd);
}

static void same_page(const char *dir)
{
	enum { N = 4000 };
	int fd = make_file(dir, "same.bin", 1);
	char **m = calloc(N, sizeof *m);
	for (long i = 0; i < N; i++) {
		m[i] = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		must(m[i] != MAP_FAILED, "mmap same");
	}
	m[N - 1][100] = 'z';
	long ok = 1;
	for (long i = 0; i < N; i++)
		ok &= m[i][100] == 'z';
	m[0][101] = 'y';
	ok &= m[N / 2][101] == 'y';
	expect("same page mapped 4000 times: one write seen in every mapping", ok);
	for (long i = 0; i < N; i++)
		must(munmap(m[i], PG) == 0, "munmap");
	free(m);
	close(fd);
}

static void parts(const char *dir)
{
	int fd = make_file(dir, "parts.bin", 8);
	char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	must(m != MAP_FAILED, "mmap");
	for (int i = 0; i < 4; i++)
		m[i * PG] = 'A' + i;
	must(munmap(m + PG, PG) == 0, "munmap middle");
	expect("parts: an unmapped middle page faults", probe(m + PG, 0) == SIGSEGV);
	expect("parts: the pages around it stay", m[0] == 'A' && m[2 * PG] == 'C' && m[3 * PG] == 'D');
	must(mprotect(m + 2 * PG, PG, PROT_READ) == 0, "mprotect");
	expect("parts: a page made read-only faults on write", probe(m + 2 * PG, 1) == SIGSEGV);
	expect("parts: and reads", probe(m + 2 * PG, 0) == 0 && m[2 * PG] == 'C');
	expect("parts: its neighbour stays writable", probe(m + 3 * PG, 1) == 0);
	must(mprotect(m + 2 * PG, PG, PROT_READ | PROT_WRITE) == 0, "mprotect back");
	m[2 * PG] = 'c';
	char b;
	must(pread(fd, &b, 1, 2 * PG) == 1, "pread");
	expect("parts: writable again, the write reaches the file", b == 'c');
	/* Grow the last page into a moved two-page mapping of the file's next page. */
	char *r = mremap(m + 3 * PG, PG, 2 * PG, MREMAP_MAYMOVE);
	must(r != MAP_FAILED, "mremap");
	r[PG] = 'E';
	must(pread(fd, &b, 1, 4 * PG) == 1, "pread");
	expect("parts: mremap grew over the file's next page", r[0] == 1 && b == 'E');
	char *s = mremap(m, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, m + 16 * PG);
	expect("parts: mremap moved a page", s == m + 16 * PG && s[0] == 'A' && probe(m, 0) == SIGSEGV);
	munmap(s, PG);
	munmap(m + 2 * PG, PG);
	munmap(r, 2 * PG);
	close(fd);
}

static void limit(void)
{
	/* Mappings until ENOMEM, each one page with a hole after it so that none join. */
	long cap = 1 << 20, n = 0;
	char **m = malloc(cap * sizeof *m);
	must(m != NULL, "malloc");
	int err = 0;
	for (; n < cap; n++) {
		m[n] = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (m[n] == MAP_FAILED) {
			err = errno;
			break;
		}
		if (munmap(m[n] + PG, PG) != 0) {
			err = errno;
			munmap(m[n], 2 * PG);
			break;
		}
	}
	printf("limit: mappings end with %s\n", errname(err));
	expect("limit: thousands made first", n > 5000);
	/* Three made one after the other go: there is room again. */
	for (long i = n / 2; i < n / 2 + 3; i++)
		must(munmap(m[i], PG) == 0, "munmap three");
	char *p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	expect("limit: one more after three are freed", p != MAP_FAILED);
	if (p != MAP_FAILED)
		p[0] = 1;
	for (long i = 0; i < n; i++)
		if (i < n / 2 || i >= n / 2 + 3)
			munmap(m[i], PG);
	if (p != MAP_FAILED)
		munmap(p, PG);
	free(m);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	setvbuf(stdout, NULL, _IONBF, 0);
	struct sigaction sa = {.sa_handler = on_segv};
	sigaction(SIGSEGV, &sa, NULL);
	const char *only = argc > 2 ? argv[2] : "";
	if (!*only || !strcmp(only, "file"))
		many_file(dir);
	if (!*only || !strcmp(only, "anon"))
		many_anon();
	if (!*only || !strcmp(only, "alternate"))
		alternate(dir);
	if (!*only || !strcmp(only, "same"))
		same_page(dir);
	if (!*only || !strcmp(only, "parts"))
		parts(dir);
	if (!*only || !strcmp(only, "limit"))
		limit();
	return failures != 0;
}
