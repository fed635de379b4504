/* dualmap: code written through one mapping of a memfd and run through another, as JITs
 * arrange it (the Erlang VM, with its code executable at one address and writable at
 * another): each function rewritten through the writable view runs as rewritten through
 * the executable one, with data stored beside it in between, whether the two views come
 * from two mmap calls or from mremap, and in a forked child. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <errno.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int (*fn_t)(void);

enum { SIZE = 4 * 4096 };

/* put writes "mov eax, v; ret" at f. */
static void put(volatile unsigned char *f, int32_t v)
{
	f[0] = 0xb8;
	for (int i = 0; i < 4; i++)
		f[1 + i] = (unsigned char)((uint32_t)v >> (8 * i));
	f[5] = 0xc3;
}

static int views(unsigned char **rx, unsigned char **rw, int how)
{
	int fd = memfd_create("code", 0);
	if (fd < 0 || ftruncate(fd, SIZE) != 0) {
		perror("memfd");
		return -1;
	}
	*rx = mmap(NULL, SIZE, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	if (how == 0)
		*rw = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	else {
		/* A second view of the same pages by mremap of a shared mapping to size 0
		 * after the executable one was made from a writable one. */
		unsigned char *w = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		*rw = mremap(w, 0, SIZE, MREMAP_MAYMOVE);
		munmap(w, SIZE);
	}
	close(fd);
	if (*rx == MAP_FAILED || *rw == MAP_FAILED) {
		perror("mmap");
		return -1;
	}
	return 0;
}

static void run(const char *who, int how)
{
	unsigned char *rx, *rw;
	if (views(&rx, &rw, how) != 0)
		return;
	int bad = 0, n = 0;
	for (int round = 0; round < 50; round++) {
		for (int page = 0; page < SIZE / 4096; page++) {
			int off = page * 4096 + (round % 8) * 64;
			put(rw + off, round * 100 + page);
			if (round % 3 == 1)
				rw[page * 4096 + 2048 + round] = (unsigned char)round; /* data beside */
			int got = ((fn_t)(rx + off))();
			if (got != round * 100 + page)
				bad++;
			n++;
			/* Rewrite the same function in place (an immediate only). */
			rw[off + 1] = (unsigned char)(round + 1);
			got = ((fn_t)(rx + off))();
			if ((got & 0xff) != round + 1)
				bad++;
			n++;
		}
	}
	printf("%s view %d: %d calls, %d ran old code\n", who, how, n, bad);
	munmap(rx, SIZE);
	munmap(rw, SIZE);
}

/* A thread rewrites a function through the writable view while the main thread runs it
 * through the executable one. */
static unsigned char *trx, *trw;
static volatile int tdone;

static void *rewriter(void *arg)
{
	(void)arg;
	for (int i = 1; i <= 20000; i++)
		put(trw + 128, i);
	tdone = 1;
	return NULL;
}

static void threads(void)
{
	if (views(&trx, &trw, 0) != 0)
		return;
	put(trw + 128, 0);
	pthread_t th;
	pthread_create(&th, NULL, rewriter, NULL);
	/* What a call returns while the code changes is left unchecked: natively that is
	 * cross-modifying code without serialization. Once the thread is done it is not. */
	while (!tdone)
		((fn_t)(trx + 128))();
	pthread_join(th, NULL);
	printf("threads: the last call returned %d\n", ((fn_t)(trx + 128))());
}

/* dupzero tries mremap with an old size of 0 and says how it ended. */
static void dupzero(const char *what, void *old, int flags)
{
	void *p = mremap(old, 0, 4096, flags);
	printf("mremap of %s with old size 0: %s\n", what, p == MAP_FAILED ? strerror(errno) : "mapped");
	if (p != MAP_FAILED)
		munmap(p, 4096);
}

int main(void)
{
	void *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *shared = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	dupzero("private memory", priv, MREMAP_MAYMOVE);
	dupzero("shared memory", shared, MREMAP_MAYMOVE);
	dupzero("shared memory, not to move", shared, 0);
	dupzero("an unmapped page", (char *)priv + (1 << 30), MREMAP_MAYMOVE);
	/* The duplicate of shared anonymous memory shows the same pages. */
	char *again = mremap(shared, 0, 8192, MREMAP_MAYMOVE);
	if (again != MAP_FAILED) {
		((char *)shared)[4100] = 'x';
		again[5] = 'y';
		printf("shared anonymous twice: %c %c\n", again[4100], ((char *)shared)[5]);
	}
	/* A duplicate placed over the rest of its own mapping, from its first page. */
	if (again != MAP_FAILED) {
		char *over = mremap(again, 0, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, again + 4096);
		if (over == MAP_FAILED)
			printf("over itself: %s\n", strerror(errno));
		else
			printf("over itself: %s %c\n", over == again + 4096 ? "in place" : "elsewhere", over[5]);
	}
	run("parent", 0);
	run("parent", 1);
	threads();
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		run("child", 0);
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(c, &st, 0);
	printf("child exit %d\n", WEXITSTATUS(st));
	return 0;
}
