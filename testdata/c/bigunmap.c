/* bigunmap maps terabytes (nothing reserved, a few pages touched) and unmaps them: instant
 * on Linux, long under an emulator whose cost follows the size of the mapping rather than
 * what was touched.
 *
 * Usage: bigunmap GiB         maps GiB for reading, says "ready", unmaps them
 *        bigunmap GiB loop    says "ready", then maps and unmaps GiB until killed
 *        bigunmap GiB ROUNDS  ROUNDS times: maps GiB, splits them with mprotect, changes
 *                             the permissions of the whole, shrinks them with mremap and
 *                             unmaps them, checking that the range faults at the right
 *                             address afterwards and that a new mapping there has its own
 *                             contents and runs its own code */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf jump;
static void *fault_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	fault_addr = si->si_addr;
	siglongjmp(jump, 1);
}

/* probe reads (or writes) *p and returns the address of the fault, or NULL. */
static void *probe(volatile char *p, int write)
{
	fault_addr = NULL;
	if (sigsetjmp(jump, 1) == 0) {
		if (write)
			*p = 7;
		else
			(void)*p;
	}
	return fault_addr;
}

static char *map(char *at, size_t size)
{
	return mmap(at, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (at ? MAP_FIXED : 0), -1, 0);
}

static int rounds(size_t size, int n)
{
	struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_NODEFER};
	sigaction(SIGSEGV, &sa, NULL);
	size_t mid = size / 2, last = size - 1, at = size / 4; /* at: code, never stored to */
	int bad = 0, pipefd[2];
	if (pipe(pipefd) != 0) {
		perror("pipe");
		return 1;
	}
	char *p = map(NULL, size);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (int r = 0; r < n; r++) {
		p[0] = 1;
		p[mid] = 2;
		p[last] = 3;
		if (mprotect(p + mid, 4096, PROT_READ) != 0) {
			perror("mprotect split");
			return 1;
		}
		if (probe(p + mid, 1) != p + mid || probe(p + mid + 4096, 1) != NULL || p[mid] != 2)
			bad |= 1;
		if (mprotect(p, size, PROT_READ) != 0 || mprotect(p, size, PROT_READ | PROT_WRITE) != 0) {
			perror("mprotect whole");
			return 1;
		}
		if (p[0] != 1 || p[last] != 3 || probe(p + last, 1) != NULL)
			bad |= 2;
		if (mremap(p, size, mid, 0) != p) {
			perror("mremap");
			return 1;
		}
		if (probe(p + mid, 0) != p + mid)
			bad |= 4;
		if (munmap(p, mid) != 0) {
			perror("munmap");
			return 1;
		}
		if (probe(p, 0) != p || probe(p + mid - 1, 1) != p + mid - 1)
			bad |= 8;
		/* A new mapping in the same place: its own zero pages, and its own code. */
		char *q = map(p, size);
		if (q != p) {
			perror("mmap again");
			return 1;
		}
		if (q[0] != 0 || q[mid] != 0 || q[last] != 0 || q[at] != 0)
			bad |= 16;
		unsigned char code[] = {0xb8, 0, 0, 0, 0, 0xc3}; /* mov eax, r; ret */
		memcpy(code + 1, &r, 4);
		/* Written by the kernel (read from a pipe), as the CPU does not see it. */
		if (write(pipefd[1], code, sizeof code) != sizeof code ||
		    read(pipefd[0], q + at, sizeof code) != sizeof code) {
			perror("pipe");
			return 1;
		}
		/* All of it executable: what ran must go with it, whatever its size. */
		if (mprotect(q, size, PROT_READ | PROT_EXEC) != 0) {
			perror("mprotect exec");
			return 1;
		}
		if (((int (*)(void))(q + at))() != r)
			bad |= 32;
		if (munmap(q, size) != 0) {
			perror("munmap again");
			return 1;
		}
		p = map(p, size);
		if (p == MAP_FAILED) {
			perror("mmap round");
			return 1;
		}
	}
	munmap(p, size);
	printf("%d rounds of %zu GiB: %s (%d)\n", n, size >> 30, bad ? "wrong" : "ok", bad);
	return bad != 0;
}

int main(int argc, char **argv)
{
	size_t size = (size_t)(argc > 1 ? atol(argv[1]) : 8192) << 30;
	if (argc > 2 && strcmp(argv[2], "loop") != 0)
		return rounds(size, atoi(argv[2]));
	char *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	munmap(p, size);
	while (argc > 2) {
		p = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		munmap(p, size);
	}
	printf("unmapped\n");
	return 0;
}
