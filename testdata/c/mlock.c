/* mlock: mlock, mlock2, munlock, mlockall and munlockall mark mappings locked as on
 * Linux: VmLck in /proc/self/status counts them, mincore finds locked pages resident, a
 * range with a hole is ENOMEM after the part before the hole was locked, MCL_FUTURE locks
 * later mmaps and brk, locks are not inherited by fork, and without CAP_IPC_LOCK
 * RLIMIT_MEMLOCK bounds them (EPERM at 0, ENOMEM or EAGAIN past it). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define PG 4096L

static long vmlck(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* resident counts the resident pages of [p, p+n pages). */
static int resident(char *p, int n)
{
	unsigned char v[64];
	if (mincore(p, n * PG, v))
		return -1;
	int r = 0;
	for (int i = 0; i < n; i++)
		r += v[i] & 1;
	return r;
}

static char *anon(int pages)
{
	return mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void limited(void)
{
	/* Without CAP_IPC_LOCK (another uid), at RLIMIT_MEMLOCK 0: EPERM. */
	struct rlimit rl = {0, 0};
	setrlimit(RLIMIT_MEMLOCK, &rl);
	if (setuid(65534)) {
		printf("setuid failed\n");
		_exit(1);
	}
	char *p = anon(16);
	expect_err("mlock at RLIMIT_MEMLOCK 0", mlock(p, PG), EPERM);
	expect_err("mlockall at RLIMIT_MEMLOCK 0", mlockall(MCL_FUTURE), EPERM);
	expect_err("MAP_LOCKED at RLIMIT_MEMLOCK 0",
		   syscall(SYS_mmap, NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0), EPERM);
	expect("munlock needs no right", munlock(p, PG) == 0);
	fflush(stdout);
	_exit(failures);
}

static void limited8(void)
{
	/* At 8 pages: what fits is locked, what is locked already is not counted twice. */
	struct rlimit rl = {8 * PG, 8 * PG};
	setrlimit(RLIMIT_MEMLOCK, &rl);
	if (setuid(65534)) {
		printf("setuid failed\n");
		_exit(1);
	}
	char *p = anon(16);
	long base = vmlck();
	expect("mlock of 4 pages within the limit", mlock(p, 4 * PG) == 0);
	expect_err("mlock of 16 pages past it", mlock(p, 16 * PG), ENOMEM);
	expect("mlock of 8, 4 of them locked already", mlock(p, 8 * PG) == 0);
	printf("VmLck grew by %ld kB\n", vmlck() - base);
	expect_err("MAP_LOCKED past the limit",
		   (long)mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0), EAGAIN);
	expect_err("mlockall(MCL_CURRENT) of a space larger than the limit", mlockall(MCL_CURRENT), ENOMEM);
	expect("munlock of 4", munlock(p, 4 * PG) == 0);
	expect("mlockall(MCL_FUTURE)", mlockall(MCL_FUTURE) == 0);
	expect("an mmap that fits", anon(2) != MAP_FAILED);
	expect_err("an mmap past the limit", (long)anon(8), EAGAIN);
	char *cur = (char *)syscall(SYS_brk, 0);
	char *want = cur + 8 * PG;
	expect("brk past the limit fails", (char *)syscall(SYS_brk, want) == cur);
	munlockall();
	expect("after munlockall, VmLck is 0", vmlck() == 0);
	fflush(stdout);
	_exit(failures);
}

static void run(void (*f)(void))
{
	fflush(stdout);
	pid_t c = fork();
	if (c == 0)
		f();
	int st;
	waitpid(c, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		failures++;
}

int main(void)
{
	long base = vmlck();
	printf("VmLck at start: %ld kB\n", base);
	char *p = anon(16);
	expect("mlock of 4 pages", mlock(p, 4 * PG) == 0);
	printf("VmLck grew by %ld kB\n", vmlck() - base);
	printf("resident locked pages: %d of 4\n", resident(p, 4));
	printf("resident unlocked untouched pages: %d of 4\n", resident(p + 8 * PG, 4));
	expect("mlock again", mlock(p, 4 * PG) == 0);
	printf("VmLck after locking again: +%ld kB\n", vmlck() - base);
	expect("munlock of the middle two", munlock(p + PG, 2 * PG) == 0);
	printf("VmLck after munlock: +%ld kB\n", vmlck() - base);
	expect("mlock of an unaligned byte range", mlock(p + 10 * PG + 100, 10) == 0);
	printf("VmLck: +%ld kB\n", vmlck() - base);
	expect_err("MADV_DONTNEED on locked memory", madvise(p, PG, MADV_DONTNEED), EINVAL);
	expect("munlock all 16", munlock(p, 16 * PG) == 0);
	printf("VmLck: +%ld kB\n", vmlck() - base);
	expect("MADV_DONTNEED once unlocked", madvise(p, PG, MADV_DONTNEED) == 0);

	/* A hole: the part before it is locked, then ENOMEM. */
	char *h = anon(3);
	munmap(h + PG, PG);
	expect_err("mlock over a hole", mlock(h, 3 * PG), ENOMEM);
	printf("the page before the hole was locked: +%ld kB\n", vmlck() - base);
	expect_err("mlock starting in the hole", mlock(h + PG, PG), ENOMEM);
	expect_err("munlock over the hole", munlock(h, 3 * PG), ENOMEM);
	printf("and unlocked again: +%ld kB\n", vmlck() - base);

	/* mlock2. */
	expect_err("mlock2 with a bad flag", syscall(SYS_mlock2, p, PG, 2), EINVAL);
	expect("mlock2(MLOCK_ONFAULT)", syscall(SYS_mlock2, p + 12 * PG, 2 * PG, MLOCK_ONFAULT) == 0);
	printf("VmLck: +%ld kB, resident: %d of 2\n", vmlck() - base, resident(p + 12 * PG, 2));
	munlock(p, 16 * PG);

	/* MAP_LOCKED. */
	char *m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	printf("MAP_LOCKED: +%ld kB, resident %d of 3\n", vmlck() - base, resident(m, 3));
	char *g = mremap(m, 3 * PG, 5 * PG, MREMAP_MAYMOVE);
	printf("grown by mremap: +%ld kB, resident %d of 5\n", vmlck() - base, resident(g, 5));
	munmap(g, 5 * PG);
	printf("unmapped: +%ld kB\n", vmlck() - base);

	/* mlockall. */
	expect_err("mlockall(0)", mlockall(0), EINVAL);
	expect_err("mlockall(MCL_ONFAULT)", mlockall(MCL_ONFAULT), EINVAL);
	expect_err("mlockall(8)", mlockall(8), EINVAL);
	expect("mlockall(MCL_FUTURE)", mlockall(MCL_FUTURE) == 0);
	long before = vmlck();
	char *f = anon(4);
	printf("a later mmap is locked: +%ld kB, resident %d of 4\n", vmlck() - before, resident(f, 4));
	char *cur = (char *)syscall(SYS_brk, 0);
	char *up = (char *)(((unsigned long)cur + PG - 1) & ~(PG - 1)) + 3 * PG;
	before = vmlck();
	expect("brk grows", (char *)syscall(SYS_brk, up) == up);
	printf("brk's growth is locked: +%ld kB\n", vmlck() - before);
	syscall(SYS_brk, cur);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		char *q = anon(2);
		long l0 = vmlck();
		printf("the child inherits no locks: VmLck %ld kB, after an mmap %ld kB (%d)\n", l0, vmlck(), q != MAP_FAILED);
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, NULL, 0);
	expect("mlockall(MCL_FUTURE|MCL_ONFAULT)", mlockall(MCL_FUTURE | MCL_ONFAULT) == 0);
	before = vmlck();
	f = anon(4);
	printf("on fault: +%ld kB, resident %d of 4\n", vmlck() - before, resident(f, 4));
	expect("mlockall(MCL_CURRENT)", mlockall(MCL_CURRENT) == 0);
	printf("every mapping is locked: %d\n", vmlck() > before + 16);
	expect("munlockall", munlockall() == 0);
	printf("VmLck after munlockall: %ld kB\n", vmlck());
	f = anon(2);
	printf("and later mmaps are not locked: %ld kB\n", vmlck());

	if (getuid() != 0) {
		printf("not root: the limited cases are skipped\n");
		return failures;
	}
	run(limited);
	run(limited8);
	return failures;
}
