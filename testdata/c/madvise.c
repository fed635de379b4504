/* madvise gives advice as Linux takes it: unknown advice and bad ranges are EINVAL, a hole
 * is ENOMEM after the mappings around it took the advice, each kind of mapping refuses
 * what Linux refuses (MADV_FREE and MADV_WIPEONFORK need private anonymous memory,
 * MADV_REMOVE a shared mapping it may write), and the advice that changes what a program
 * sees acts: MADV_DONTNEED zeroes private pages, MADV_REMOVE frees shared ones for every
 * process, MADV_DONTFORK leaves a mapping out of a forked child and MADV_WIPEONFORK gives
 * the child zeros. Alternating pages check that each page keeps its own advice. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

static sigjmp_buf jb;
static volatile int code;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	code = si->si_code;
	siglongjmp(jb, 1);
}

/* probe reads a byte, or returns -si_code of the fault. */
static int probe(volatile char *p)
{
	if (sigsetjmp(jb, 1))
		return -code;
	return *p;
}

#define R(x) result(#x, (x))
static void result(const char *what, long r)
{
	printf("%-44s %ld %s\n", what, r, r < 0 ? errname(errno) : "");
}

int main(void)
{
	struct sigaction sa = {.sa_sigaction = on_fault, .sa_flags = SA_SIGINFO};
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	const long ps = 4096;

	char *a = mmap(NULL, 8 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(a, 7, 8 * ps);
	R(madvise(a, ps, 999));
	R(madvise(a + 1, ps, MADV_NORMAL));
	R(madvise(a, 0, MADV_NORMAL));
	R(madvise(a, -4096L, MADV_NORMAL));
	R(madvise(a, ps, MADV_HWPOISON + 50));
	munmap(a + 4 * ps, ps);
	R(madvise(a, 8 * ps, MADV_DONTNEED));
	printf("after MADV_DONTNEED across a hole: %d %d\n", a[0], a[7 * ps]);
	R(madvise(a, 8 * ps, MADV_POPULATE_WRITE));
	R(madvise(a + 4 * ps, 2 * ps, MADV_POPULATE_READ));
	memset(a, 7, 4 * ps);
	R(madvise(a, ps, MADV_REMOVE));
	R(madvise(a, ps, MADV_FREE));
	printf("after MADV_FREE, still readable: %d\n", a[0] == 7 || a[0] == 0);
	int hints[] = {MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
		       MADV_MERGEABLE, MADV_UNMERGEABLE, MADV_COLD, MADV_PAGEOUT, MADV_DONTDUMP, MADV_DODUMP,
		       MADV_COLLAPSE};
	for (unsigned i = 0; i < sizeof hints / sizeof hints[0]; i++) {
		long r = madvise(a, ps, hints[i]);
		printf("advice %2d on one private page: %ld %s\n", hints[i], r, r < 0 ? errname(errno) : "");
	}
	printf("contents kept by the hints: %d\n", a[0] == 7 || a[0] == 0);

	char *ro = mmap(NULL, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *no = mmap(NULL, ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	R(madvise(ro, ps, MADV_POPULATE_READ));
	R(madvise(ro, ps, MADV_POPULATE_WRITE));
	R(madvise(no, ps, MADV_POPULATE_READ));
	R(madvise(no, ps, MADV_POPULATE_WRITE));

	char *sh = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memset(sh, 5, 2 * ps);
	R(madvise(sh, ps, MADV_FREE));
	R(madvise(sh, ps, MADV_WIPEONFORK));
	R(madvise(sh, ps, MADV_DONTNEED));
	printf("shared after MADV_DONTNEED: %d\n", sh[0]);
	fflush(stdout);
	pid_t kid = fork();
	if (kid == 0) {
		madvise(sh, ps, MADV_REMOVE);
		_exit(0);
	}
	waitpid(kid, NULL, 0);
	printf("shared after a child's MADV_REMOVE: %d %d\n", sh[0], sh[ps]);

	int fd = open("/proc/self/exe", O_RDONLY);
	char *fm = mmap(NULL, ps, PROT_READ, MAP_PRIVATE, fd, 0);
	char *fs = mmap(NULL, ps, PROT_READ, MAP_SHARED, fd, 0);
	R(madvise(fm, ps, MADV_FREE));
	R(madvise(fm, ps, MADV_WIPEONFORK));
	R(madvise(fm, ps, MADV_REMOVE));
	R(madvise(fs, ps, MADV_REMOVE));
	R(madvise(fm, ps, MADV_DONTNEED));
	printf("private file page after MADV_DONTNEED: %c%c%c\n", fm[1], fm[2], fm[3]);

	/* Fork flags, on alternating pages of one mapping. */
	enum { N = 64 };
	char *w = mmap(NULL, 3 * N * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(w, 9, 3 * N * ps);
	int ok = 1;
	for (int i = 0; i < N; i++) {
		ok &= madvise(w + 3 * i * ps, ps, MADV_WIPEONFORK) == 0;
		ok &= madvise(w + (3 * i + 1) * ps, ps, MADV_DONTFORK) == 0;
	}
	expect("MADV_WIPEONFORK and MADV_DONTFORK on every third page", ok);
	fflush(stdout);
	if ((kid = fork()) == 0) {
		int wiped = 0, gone = 0, kept = 0;
		for (int i = 0; i < N; i++) {
			wiped += probe(w + 3 * i * ps) == 0;
			gone += probe(w + (3 * i + 1) * ps) == -SEGV_MAPERR;
			kept += probe(w + (3 * i + 2) * ps) == 9;
		}
		printf("child: %d pages wiped, %d left out, %d copied\n", wiped, gone, kept);
		int own = mmap(w + ps, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			       -1, 0) == w + ps;
		printf("child can map where a left-out page was: %d\n", own);
		fflush(stdout);
		_exit(0);
	}
	waitpid(kid, NULL, 0);
	int same = 1;
	for (long i = 0; i < 3 * N * ps; i += ps)
		same &= w[i] == 9;
	printf("parent keeps its pages: %d\n", same);
	R(madvise(w, 3 * N * ps, MADV_KEEPONFORK));
	R(madvise(w, 3 * N * ps, MADV_DOFORK));
	fflush(stdout);
	if ((kid = fork()) == 0) {
		int kept = 0;
		for (int i = 0; i < 3 * N; i++)
			kept += probe(w + i * ps) == 9;
		printf("child after MADV_KEEPONFORK and MADV_DOFORK: %d of %d pages copied\n", kept, 3 * N);
		fflush(stdout);
		_exit(0);
	}
	waitpid(kid, NULL, 0);

	/* A fork with the advice: an exec'd child starts afresh, a grandchild gets zeros again. */
	char *g = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	g[0] = 4;
	madvise(g, ps, MADV_WIPEONFORK);
	fflush(stdout);
	if ((kid = fork()) == 0) {
		g[0] = 6;
		if (fork() == 0) {
			printf("grandchild sees: %d\n", g[0]);
			fflush(stdout);
			_exit(0);
		}
		wait(NULL);
		_exit(0);
	}
	waitpid(kid, NULL, 0);

	/* The attacker's: advice over a huge range that is mostly holes, over the kernel's
	 * own mappings, and over the vsyscall page. */
	R(madvise((void *)0x100000000000, 1L << 40, MADV_DONTNEED));
	R(madvise((void *)0x100000000000, 1L << 40, MADV_WIPEONFORK));
	R(madvise((void *)0xffffffffff600000, ps, MADV_DONTNEED));
	char *vdso = (char *)getauxval(AT_SYSINFO_EHDR), *vvar = NULL, line[256];
	FILE *maps = fopen("/proc/self/maps", "r");
	while (maps && fgets(line, sizeof line, maps))
		if (strstr(line, "[vvar]"))
			sscanf(line, "%p", (void **)&vvar);
	if (maps)
		fclose(maps);
	int all[] = {MADV_NORMAL, MADV_RANDOM, MADV_WILLNEED, MADV_DONTNEED, MADV_FREE, MADV_DONTFORK, MADV_DOFORK,
		     MADV_MERGEABLE, MADV_HUGEPAGE, MADV_DONTDUMP, MADV_DODUMP, MADV_WIPEONFORK, MADV_COLD,
		     MADV_PAGEOUT, MADV_POPULATE_READ, MADV_POPULATE_WRITE};
	for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++) {
		long r1 = madvise(vdso, ps, all[i]);
		int e1 = errno;
		long r2 = vvar ? madvise(vvar, ps, all[i]) : 0;
		printf("advice %2d on [vdso]: %ld %s, on [vvar]: %ld %s\n", all[i], r1, r1 < 0 ? errname(e1) : "", r2,
		       r2 < 0 ? errname(errno) : "");
	}
	struct timespec ts;
	printf("the vDSO still answers after the advice: %d\n", clock_gettime(CLOCK_MONOTONIC, &ts) == 0 && ts.tv_sec >= 0);
	return failures;
}
