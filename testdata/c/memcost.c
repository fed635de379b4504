/* memcost: address-space operations whose cost must follow what the program touches, not
 * what it reserves, and fork's copy-on-write semantics.
 *   memcost cow               parent and child each see only their own writes after fork
 *   memcost protnone-fork     2 GiB PROT_NONE reservation, then fork
 *   memcost devzero-fork      2 GiB private mapping of /dev/zero, one page touched, fork
 *   memcost mincore-huge      mincore over 16 TiB with a one-page vector (EFAULT)
 *   memcost mremap-big        a 1 GiB mapping with two pages touched moved and grown
 *   memcost children N        N children alive at once, each waiting on a pipe
 *   memcost many-maps N       up to N separate one-page mappings (vemu may refuse some
 *                             with ENOMEM), all unmapped again, then a new one
 *   memcost map-count         mprotect of every other page of a large mapping until the
 *                             process has vm.max_map_count mappings (ENOMEM, as Linux)
 *   memcost protnone          faults in a PROT_NONE page (SEGV_ACCERR) and in a hole
 *                             (SEGV_MAPERR); contents survive a round trip through it */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

#define PAGE 4096UL

static int wait_child(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* cow writes to the heap, the stack, an anonymous mapping, a private file mapping and a
 * shared mapping, forks, and checks that each side sees its own writes to private memory
 * and both see writes to shared memory. */
static void cow(void)
{
	static char data[PAGE] = "data";
	char stack[64] = "stack";
	char *heap = malloc(100000);
	strcpy(heap, "heap");
	char *anon = mmap(0, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *shared = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char path[] = "/tmp/memcost.XXXXXX";
	int fd = mkstemp(path);
	expect("temporary file", fd >= 0);
	unlink(path);
	expect("file written", write(fd, "file", 4) == 4 && ftruncate(fd, PAGE) == 0);
	char *file = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	expect("mappings", anon != MAP_FAILED && shared != MAP_FAILED && file != MAP_FAILED);
	strcpy(anon + 10 * PAGE, "anon");
	strcpy(shared, "shared");

	int pipefd[2];
	expect("pipe", pipe(pipefd) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		int bad = 0;
		bad += strcmp(data, "data") != 0;
		bad += strcmp(stack, "stack") != 0;
		bad += strcmp(heap, "heap") != 0;
		bad += strcmp(anon + 10 * PAGE, "anon") != 0;
		bad += memcmp(file, "file", 4) != 0;
		strcpy(data, "child");
		strcpy(stack, "child");
		strcpy(heap, "child");
		strcpy(anon + 10 * PAGE, "child");
		strcpy(anon + 20 * PAGE, "child"); /* a page the parent never touched */
		memcpy(file, "chld", 4);
		strcpy(shared, "from the child");
		char c;
		read(pipefd[0], &c, 1); /* the parent has written its own values */
		bad += strcmp(data, "child") != 0;
		bad += strcmp(heap, "child") != 0;
		bad += strcmp(anon + 10 * PAGE, "child") != 0;
		bad += strcmp(anon + 30 * PAGE, "") != 0;
		bad += memcmp(file, "chld", 4) != 0;
		_exit(bad);
	}
	/* The parent writes its own values while the child is alive. */
	strcpy(data, "parent");
	strcpy(heap, "parent");
	strcpy(anon + 10 * PAGE, "parent");
	strcpy(anon + 30 * PAGE, "parent");
	memcpy(file, "prnt", 4);
	write(pipefd[1], "x", 1);
	expect("child saw the memory as at fork, then its own writes", wait_child(pid) == 0);
	expect("parent keeps its data", strcmp(data, "parent") == 0);
	expect("parent keeps its stack", strcmp(stack, "stack") == 0);
	expect("parent keeps its heap", strcmp(heap, "parent") == 0);
	expect("parent keeps its anonymous page", strcmp(anon + 10 * PAGE, "parent") == 0);
	expect("a page only the child wrote is still zero here", anon[20 * PAGE] == 0);
	expect("parent keeps its private file page", memcmp(file, "prnt", 4) == 0);
	expect("shared memory has the child's write", strcmp(shared, "from the child") == 0);
	char buf[4];
	expect("the file itself is untouched", pread(fd, buf, 4, 0) == 4 && memcmp(buf, "file", 4) == 0);

	/* A grandchild sees the child's memory, not the parent's. */
	pid = fork();
	if (pid == 0) {
		strcpy(heap, "second");
		pid_t g = fork();
		if (g == 0)
			_exit(strcmp(heap, "second") != 0);
		_exit(wait_child(g));
	}
	expect("a grandchild copies its parent's memory", wait_child(pid) == 0 && strcmp(heap, "parent") == 0);
}

static sigjmp_buf fault_jmp;
static volatile int fault_code;
static void *volatile fault_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	fault_code = si->si_code;
	fault_addr = si->si_addr;
	siglongjmp(fault_jmp, 1);
}

/* touch writes to p and returns the si_code of the fault it caused, or 0. */
static int touch(char *p)
{
	fault_code = 0;
	fault_addr = 0;
	if (sigsetjmp(fault_jmp, 1) == 0)
		*(volatile char *)p = 1;
	return fault_code;
}

static void protnone(void)
{
	struct sigaction sa = {.sa_sigaction = on_segv, .sa_flags = SA_SIGINFO};
	sigaction(SIGSEGV, &sa, 0);
	char *p = mmap(0, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	strcpy(p + PAGE, "kept");
	expect("mprotect NONE", mprotect(p + PAGE, 2 * PAGE, PROT_NONE) == 0);
	expect("a store there is SEGV_ACCERR", touch(p + PAGE + 8) == SEGV_ACCERR && fault_addr == p + PAGE + 8);
	expect("the page after it too", touch(p + 2 * PAGE) == SEGV_ACCERR);
	expect("the pages around it are fine", touch(p) == 0 && touch(p + 3 * PAGE) == 0);
	expect("munmap the last page", munmap(p + 3 * PAGE, PAGE) == 0);
	expect("a store in the hole is SEGV_MAPERR", touch(p + 3 * PAGE) == SEGV_MAPERR);
	expect("mprotect back", mprotect(p + PAGE, 2 * PAGE, PROT_READ | PROT_WRITE) == 0);
	expect("the contents survived", strcmp(p + PAGE, "kept") == 0);
	char *r = mmap(0, 1UL << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	expect("a reservation faults with SEGV_ACCERR", touch(r + (1UL << 29)) == SEGV_ACCERR);
	expect("part of it made writable", mprotect(r + PAGE, PAGE, PROT_READ | PROT_WRITE) == 0 && touch(r + PAGE) == 0);
	signal(SIGSEGV, SIG_DFL);
}

static void fork_and_wait(const char *what)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	expect(what, pid > 0 && wait_child(pid) == 0);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "cow")) {
		cow();
	} else if (!strcmp(mode, "protnone-fork")) {
		char *p = mmap(0, 2UL << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		expect("2 GiB reserved", p != MAP_FAILED);
		fork_and_wait("fork with a 2 GiB reservation");
	} else if (!strcmp(mode, "devzero-fork")) {
		int fd = open("/dev/zero", O_RDWR);
		char *p = mmap(0, 2UL << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		expect("2 GiB of /dev/zero mapped", p != MAP_FAILED);
		expect("it reads as zero", p[12345] == 0 && p[(2UL << 30) - 1] == 0);
		p[PAGE] = 7;
		pid_t pid = fork();
		if (pid == 0)
			_exit(p[PAGE] != 7 || p[2 * PAGE] != 0);
		expect("the child sees the touched page", wait_child(pid) == 0);
	} else if (!strcmp(mode, "mincore-huge")) {
		size_t big = 16UL << 40;
		char *p = mmap(0, big, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		expect("16 TiB reserved", p != MAP_FAILED);
		unsigned char *vec = mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		munmap(vec + PAGE, PAGE);
		expect_err("mincore with a short vector", mincore(p, big, vec), EFAULT);
		char *q = mmap(0, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		q[3 * PAGE] = 1;
		expect("mincore of 8 pages", mincore(q, 8 * PAGE, vec) == 0);
		expect("the touched page is resident", vec[3] == 1);
		expect("an untouched one is not", vec[5] == 0);
	} else if (!strcmp(mode, "mremap-big")) {
		size_t n = 1UL << 30;
		char *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		p[0] = 1;
		p[n - 1] = 2;
		char *q = mremap(p, n, 2 * n, MREMAP_MAYMOVE);
		expect("grown by moving", q != MAP_FAILED);
		expect("contents moved", q[0] == 1 && q[n - 1] == 2 && q[n] == 0 && q[2 * n - 1] == 0);
		char *r = mremap(q, 2 * n, n, MREMAP_MAYMOVE | MREMAP_FIXED, (char *)q + 4 * n);
		expect("moved without growing", r == q + 4 * n);
		expect("contents moved again", r[0] == 1 && r[n - 1] == 2);
		fork_and_wait("fork after the moves");
	} else if (!strcmp(mode, "children")) {
		int n = argc > 2 ? atoi(argv[2]) : 10, fds[2], started = 0, ended = 0;
		expect("pipe", pipe(fds) == 0);
		for (int i = 0; i < n; i++) {
			pid_t pid = fork();
			if (pid == 0) {
				char c;
				close(fds[1]);
				_exit(read(fds[0], &c, 1) != 0); /* end of file once the parent closes */
			}
			started += pid > 0;
		}
		close(fds[1]);
		int st;
		while (wait(&st) > 0)
			ended += WIFEXITED(st) && WEXITSTATUS(st) == 0;
		expect("all children started and ended", started == n && ended == n);
	} else if (!strcmp(mode, "many-maps")) {
		long n = argc > 2 ? atol(argv[2]) : 1000, made = 0;
		char **maps = calloc(n, sizeof *maps);
		for (; made < n; made++) {
			/* Every other page stays free, so that no two mappings join. */
			maps[made] = mmap(0, 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (maps[made] == MAP_FAILED)
				break;
			munmap(maps[made] + PAGE, PAGE);
		}
		expect("mappings made until the first refusal", made == n || errno == ENOMEM);
		int bad = 0;
		for (long i = 0; i < made; i++)
			bad += munmap(maps[i], PAGE) != 0;
		expect("all unmapped", bad == 0);
		char *p = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		expect("a new mapping works", p != MAP_FAILED && (p[0] = 1) == 1);
	} else if (!strcmp(mode, "map-count")) {
		long n = 70000, i;
		char *p = mmap(0, 2 * n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		expect("mapped", p != MAP_FAILED);
		for (i = 0; i < 2 * n; i += 2)
			if (mprotect(p + i * PAGE, PAGE, PROT_READ) != 0)
				break;
		int err = errno;
		printf("mprotect calls before the limit: %ld\n", i / 2);
		expect("the limit is ENOMEM", i < 2 * n && err == ENOMEM);
		p[PAGE] = 1;
		expect("munmap of the whole works", munmap(p, 2 * n * PAGE) == 0);
	} else if (!strcmp(mode, "protnone")) {
		protnone();
	} else {
		printf("usage: memcost cow|protnone-fork|devzero-fork|mincore-huge|mremap-big|protnone\n");
		return 2;
	}
	return failures != 0;
}
