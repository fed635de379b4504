/* smc: code rewritten by ordinary stores runs as rewritten, as on the CPU. A JIT (a Java
 * VM's code cache) writes and patches code in memory that is writable and executable at
 * once, with stores of any size and alignment, between data it keeps in the same pages.
 * Each case prints what the rewritten code returns. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int (*fn_t)(void);

static unsigned char *rwx(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		_exit(1);
	}
	memset(p, 0xcc, n);
	return p;
}

/* put writes "mov eax, v; ret" at f. */
static void put(unsigned char *f, int32_t v)
{
	f[0] = 0xb8;
	memcpy(f + 1, &v, 4);
	f[5] = 0xc3;
}

/* store writes n bytes at dst with one store of that size (n 1, 2, 4, 8 or 16). */
static void store(unsigned char *dst, const unsigned char *src, int n)
{
	switch (n) {
	case 1: *(volatile uint8_t *)dst = src[0]; break;
	case 2: { uint16_t w; memcpy(&w, src, 2); *(volatile uint16_t *)(void *)dst = w; break; }
	case 4: { uint32_t w; memcpy(&w, src, 4); *(volatile uint32_t *)(void *)dst = w; break; }
	case 8: { uint64_t w; memcpy(&w, src, 8); *(volatile uint64_t *)(void *)dst = w; break; }
	case 16: {
		typedef uint64_t v2 __attribute__((vector_size(16), aligned(1)));
		v2 w;
		memcpy(&w, src, 16);
		*(volatile v2 *)(void *)dst = w;
		break;
	}
	}
}

/* patch rewrites the immediate of the function at f to v with one store of n bytes that
 * starts off bytes from f (the bytes around it keep their values). */
static void patch(unsigned char *f, int off, int n, int32_t v)
{
	unsigned char img[48];
	memcpy(img, f - 16, sizeof img);
	memcpy(img + 16 + 1, &v, 4);
	store(f + off, img + 16 + off, n);
}

/* Stores of every size, starting before, at and inside the function. */
static void sizes(void)
{
	static const int offs[] = {-15, -8, -7, -3, -1, 0, 1, 2, 4};
	static const int lens[] = {1, 2, 4, 8, 16};
	unsigned char *p = rwx(4096);
	int n = 0, ok = 0;
	for (unsigned i = 0; i < sizeof offs / sizeof offs[0]; i++)
		for (unsigned j = 0; j < sizeof lens / sizeof lens[0]; j++) {
			int off = offs[i], len = lens[j];
			if (off + len <= 1 || off >= 5)
				continue; /* misses the immediate */
			unsigned char *f = p + 64 + 64 * n++;
			put(f, 1);
			((fn_t)f)();
			int32_t want = 0x100 + n;
			unsigned char old[4];
			memcpy(old, f + 1, 4);
			patch(f, off, len, want);
			/* The bytes of the immediate the store does not cover keep their old values. */
			int32_t expect;
			unsigned char e[4];
			memcpy(e, &want, 4);
			for (int k = 0; k < 4; k++)
				if (1 + k < off || 1 + k >= off + len)
					e[k] = old[k];
			memcpy(&expect, e, 4);
			int got = ((fn_t)f)();
			if (got == expect)
				ok++;
			else
				printf("sizes: store of %d at %+d: %#x, want %#x\n", len, off, got, expect);
		}
	printf("sizes: %d of %d stores seen\n", ok, n);
	munmap(p, 4096);
}

/* A store elsewhere in the page first, then a plain aligned store over the code. */
static void afterdata(void)
{
	unsigned char *p = rwx(4096);
	unsigned char *f = p + 95; /* its immediate is 4-aligned */
	int r[3];
	for (int i = 0; i < 3; i++) {
		put(f, 1);
		((fn_t)f)();
		p[2000 + i] = 0x90; /* data beside the code */
		*(volatile int32_t *)(void *)(f + 1) = 10 + i;
		r[i] = ((fn_t)f)();
	}
	printf("afterdata: %d %d %d\n", r[0], r[1], r[2]);
	munmap(p, 4096);
}

/* Code that rewrites itself: a loop adds the immediate of its own mov and increments it;
 * and a store to the very next instruction. */
static void itself(void)
{
	static const unsigned char loop[] = {
		0x31, 0xd2,                         /* xor edx, edx */
		0xb9, 0x05, 0x00, 0x00, 0x00,       /* mov ecx, 5 */
		0xb8, 0x00, 0x00, 0x00, 0x00,       /* 7: mov eax, 0 */
		0x01, 0xc2,                         /* add edx, eax */
		0xff, 0x05, 0xf4, 0xff, 0xff, 0xff, /* inc dword [rip-12]: the mov's immediate */
		0xff, 0xc9,                         /* dec ecx */
		0x75, 0xef,                         /* jnz 7 */
		0x89, 0xd0,                         /* mov eax, edx */
		0xc3,                               /* ret */
	};
	static const unsigned char next[] = {
		0xc6, 0x05, 0x01, 0x00, 0x00, 0x00, 0x05, /* mov byte [rip+1], 5 */
		0xb8, 0x01, 0x00, 0x00, 0x00,             /* mov eax, 1 */
		0xc3,                                     /* ret */
	};
	unsigned char *p = rwx(4096);
	memcpy(p, loop, sizeof loop);
	int a = ((fn_t)p)();
	int b = ((fn_t)p)(); /* the immediate now starts at 5 */
	memcpy(p + 2048, next, sizeof next);
	int c = ((fn_t)(p + 2048))();
	printf("itself: loop %d, again %d, next instruction %d\n", a, b, c);
	munmap(p, 4096);
}

/* A function across a page boundary, its immediate rewritten on the second page, and
 * a function at the start of a page rewritten from the end of the page before. */
static void across(void)
{
	unsigned char *p = rwx(3 * 4096);
	unsigned char *f = p + 4096 - 3, *g = p + 2 * 4096;
	put(f, 1);
	put(g, 1);
	int r0 = ((fn_t)f)() + ((fn_t)g)();
	f[3] = 0x22; /* the immediate's third byte, on the second page */
	int32_t v = 0x33;
	unsigned char img[16] = {0xcc, 0xcc, 0xcc, 0xb8}; /* g-3 .. g+5 */
	memcpy(img + 4, &v, 4);
	img[8] = 0xc3;
	store(g - 3, img, 4);     /* ends on g's opcode, unchanged */
	store(g - 2, img + 1, 8); /* from the page before over the immediate */
	int r1 = ((fn_t)f)(), r2 = ((fn_t)g)();
	printf("across: %d then %#x and %#x\n", r0, r1, r2);
	munmap(p, 3 * 4096);
}

/* Read-and-execute code made writable too, then rewritten. */
static void protect(void)
{
	unsigned char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	put(p + 100, 1);
	p[2000] = 1;
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
	int a = ((fn_t)(p + 100))();
	mprotect(p, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
	p[3000] = 1;
	*(volatile int32_t *)(void *)(p + 101) = 7;
	int b = ((fn_t)(p + 100))();
	printf("protect: %d then %d\n", a, b);
	munmap(p, 4096);
}

/* Many small functions in a few pages, rewritten round after round as a JIT patches
 * code, with data written between them. */
static void jit(void)
{
	enum { N = 512, PAGES = 5 };
	unsigned char *p = rwx(PAGES * 4096);
	uint64_t sum = 0;
	for (int i = 0; i < N; i++)
		put(p + 32 + 32 * i, i);
	for (int round = 0; round < 40; round++) {
		for (int i = 0; i < N; i++)
			sum = sum * 31 + (unsigned)((fn_t)(p + 32 + 32 * i))();
		for (int i = round % 3; i < N; i += 3) {
			unsigned char *f = p + 32 + 32 * i;
			int32_t v = round * 1000 + i;
			f[16 + round % 8] = (unsigned char)round; /* data after the function */
			switch ((round + i) % 4) {
			case 0: patch(f, 1, 4, v); break;
			case 1: patch(f, -3, 8, v); break;
			case 2: patch(f, -8, 16, v); break;
			case 3: memcpy(f + 1, &v, 4); break;
			}
		}
	}
	printf("jit: %llx\n", (unsigned long long)sum);
	munmap(p, PAGES * 4096);
}

static unsigned char *shared_fn;
static int stage;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void await(int s)
{
	pthread_mutex_lock(&mu);
	while (stage < s)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

static void advance(void)
{
	pthread_mutex_lock(&mu);
	stage++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void *runner(void *arg)
{
	int *r = arg;
	for (int i = 0; i < 3; i++) {
		await(2 * i);
		r[i] = ((fn_t)shared_fn)();
		advance();
	}
	return NULL;
}

/* One thread runs the code, another rewrites it in between. */
static void threads(void)
{
	int r[3];
	pthread_t t;
	shared_fn = rwx(4096) + 200;
	put(shared_fn, 1);
	pthread_create(&t, NULL, runner, r);
	for (int i = 0; i < 3; i++) {
		await(2 * i + 1);
		shared_fn[1000 + i] = 1;
		patch(shared_fn, -1, 8, 20 + i);
		advance();
	}
	pthread_join(t, NULL);
	printf("threads: %d %d %d\n", r[0], r[1], r[2]);
}

/* A forked child rewrites its copy; the parent's code stays. */
static void forked(void)
{
	unsigned char *p = rwx(4096);
	put(p + 300, 1);
	((fn_t)(p + 300))();
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		p[10] = 0;
		patch(p + 300, 0, 8, 42);
		printf("fork: child %d\n", ((fn_t)(p + 300))());
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	printf("fork: parent %d\n", ((fn_t)(p + 300))());
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	sizes();
	afterdata();
	itself();
	across();
	protect();
	jit();
	threads();
	forked();
	return 0;
}
