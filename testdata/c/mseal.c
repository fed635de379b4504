/* mseal checks mseal(2): its argument checks, and that a sealed range can no longer be
 * unmapped, remapped, moved, reprotected or discarded, in this process and a child. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef SYS_mseal
#define SYS_mseal 462
#endif

static long mseal_(void *a, size_t n, unsigned long f) { return syscall(SYS_mseal, a, n, f); }

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	strcpy(m + pg, "sealed");
	expect_err("flags", mseal_(m, pg, 1), EINVAL);
	expect_err("misaligned", mseal_(m + 1, pg, 0), EINVAL);
	expect_err("wrapping", mseal_(m, (size_t)-pg, 0), EINVAL);
	expect("a length of 0", mseal_(m, 0, 0) == 0);
	munmap(m + 3 * pg, pg);
	expect_err("a range with a hole", mseal_(m + 2 * pg, 2 * pg, 0), ENOMEM);
	expect_err("unmapped", mseal_((void *)0x10000, pg, 0), ENOMEM);
	expect("mseal the second page", mseal_(m + pg, pg, 0) == 0);
	expect("mseal it again", mseal_(m + pg, pg, 0) == 0);
	expect_err("munmap", munmap(m + pg, pg), EPERM);
	expect_err("munmap of a range that holds it", munmap(m, 3 * pg), EPERM);
	expect("nothing was unmapped", m[0] == 0 && strcmp(m + pg, "sealed") == 0);
	expect_err("mprotect", mprotect(m + pg, pg, PROT_READ), EPERM);
	expect_err("mprotect to the same", mprotect(m + pg, pg, PROT_READ | PROT_WRITE), EPERM);
	expect_err("mmap MAP_FIXED over it", (long)mmap(m + pg, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
		   EPERM);
	expect_err("mremap to shrink", (long)mremap(m + pg, pg, pg / 2, 0), EPERM);
	expect_err("mremap to move", (long)mremap(m + pg, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, m + 3 * pg), EPERM);
	expect_err("mremap onto it", (long)mremap(m, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, m + pg), EPERM);
	expect("the neighbours still change", mprotect(m, pg, PROT_READ) == 0 && munmap(m + 2 * pg, pg) == 0);
	expect("MADV_DONTNEED of writable memory", madvise(m + pg, pg, MADV_DONTNEED) == 0);
	expect("a write still works", (m[pg] = 'x') == 'x');

	char *ro = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect("mseal read-only memory", mseal_(ro, pg, 0) == 0);
	expect_err("MADV_DONTNEED of it", madvise(ro, pg, MADV_DONTNEED), EPERM);

	fflush(stdout);
	pid_t c = fork();
	if (c == 0)
		_exit(munmap(m + pg, pg) == -1 && errno == EPERM ? 0 : 1);
	int st;
	waitpid(c, &st, 0);
	expect("a child's copy is sealed too", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return failures != 0;
}
