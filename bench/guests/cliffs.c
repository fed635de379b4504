/* cliffs MODE N: address-space and thread work whose cost must grow linearly with N;
   prints elapsed milliseconds.
     threads N    start N threads that all stay alive, then join them
     mprotect N   map N pages and make every other one read-only, one call each
     mprotectdown N  map 2N pages and make every other one read-only, from the top
                  down: each call splits the mapping below the ones before it
     sbrk N       grow the heap N times by 132 KiB, touching each new piece
     maps N       make N one-page mappings that do not join (a free page beside each),
                  touch each, then unmap them
     futexes N    start N threads, each waiting on a futex of its own, then wake them
                  one after the other
     wakeone N    start N threads waiting on one futex, then wake them one at a time
     shmaps N     make N one-page MAP_SHARED mappings, alternately of the next page of
                  a memfd and of shared anonymous memory, touch each, then unmap them
     pipereaders N  start N threads reading one byte each from one pipe, then write N
                  bytes one at a time
     pollers N    start N threads, each blocked in poll on an eventfd of its own, then
                  wake them one after the other
     pollpong N   two threads pass a byte back and forth N times through two pipes,
                  each waiting in poll before its read; prints ns per round trip
     bigunmap N   map 1 TiB without reserving it, touch its first and last pages, split
                  it with mprotect and unmap it, N times: the cost of what is touched,
                  whatever the size
     rewrite N    rewrite the immediate of a function in a writable and executable page
                  with a store and call it, N times, as a JIT patches code; prints ns
                  per round and the sum of what the calls returned */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <linux/futex.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include "bench.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static int released;

static void *wait_release(void *arg)
{
	pthread_mutex_lock(&mu);
	while (!released)
		pthread_cond_wait(&go, &mu);
	pthread_mutex_unlock(&mu);
	return arg;
}

static unsigned *words;
static unsigned gate;
static int ready;

static long futex(unsigned *w, int op, unsigned val)
{
	return syscall(SYS_futex, w, op, val, NULL, NULL, 0);
}

static void *wait_own(void *arg)
{
	unsigned *w = &words[(long)arg];
	__atomic_fetch_add(&ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(w, __ATOMIC_SEQ_CST))
		futex(w, FUTEX_WAIT_PRIVATE, 0);
	return arg;
}

static int pipefd[2];

static void *read_pipe(void *arg)
{
	char b;
	__atomic_fetch_add(&ready, 1, __ATOMIC_SEQ_CST);
	if (read(pipefd[0], &b, 1) != 1) {
		printf("fail read\n");
		exit(1);
	}
	return arg;
}

static int *evfds;

static void *poll_own(void *arg)
{
	struct pollfd p = {evfds[(long)arg], POLLIN, 0};
	__atomic_fetch_add(&ready, 1, __ATOMIC_SEQ_CST);
	if (poll(&p, 1, -1) != 1 || p.revents != POLLIN) {
		printf("fail poll\n");
		exit(1);
	}
	return arg;
}

static int ping[2], pong[2];

/* pass waits in poll for a byte on in, reads it and writes it to out. */
static void pass(int in, int out)
{
	struct pollfd p = {in, POLLIN, 0};
	char b;
	if (poll(&p, 1, -1) != 1 || read(in, &b, 1) != 1 || write(out, &b, 1) != 1) {
		printf("fail pollpong\n");
		exit(1);
	}
}

static long rounds;

static void *ponger(void *arg)
{
	for (long i = 0; i < rounds; i++)
		pass(ping[0], pong[1]);
	return arg;
}

static void *wait_gate(void *arg)
{
	__atomic_fetch_add(&ready, 1, __ATOMIC_SEQ_CST);
	futex(&gate, FUTEX_WAIT_PRIVATE, 0);
	return arg;
}

/* start_all starts n threads running fn, waits until each has started, and returns
   them. */
static pthread_t *start_all(long n, void *(*fn)(void *))
{
	pthread_t *t = calloc(n, sizeof *t);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	for (long i = 0; i < n; i++)
		if (pthread_create(&t[i], &attr, fn, (void *)i) != 0) {
			printf("fail pthread_create\n");
			exit(1);
		}
	while (__atomic_load_n(&ready, __ATOMIC_SEQ_CST) < n)
		sched_yield();
	return t;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	long n = bench_count(argc, argv, 2, 1000);
	long long t0 = bench_now_ns();
	if (!strcmp(mode, "threads")) {
		pthread_t *t = calloc(n, sizeof *t);
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 64 << 10);
		for (long i = 0; i < n; i++)
			if (pthread_create(&t[i], &attr, wait_release, NULL) != 0) {
				printf("fail pthread_create\n");
				return 1;
			}
		pthread_mutex_lock(&mu);
		released = 1;
		pthread_cond_broadcast(&go);
		pthread_mutex_unlock(&mu);
		for (long i = 0; i < n; i++)
			pthread_join(t[i], NULL);
	} else if (!strcmp(mode, "mprotect")) {
		char *p = mmap(NULL, n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 1;
		for (long i = 0; i < n; i += 2)
			if (mprotect(p + i * 4096, 4096, PROT_READ) != 0) {
				printf("fail mprotect\n");
				return 1;
			}
		for (long i = 1; i < n; i += 2)
			p[i * 4096] = 1;
	} else if (!strcmp(mode, "mprotectdown")) {
		char *p = mmap(NULL, 2 * n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 1;
		for (long i = n - 1; i >= 0; i--)
			if (mprotect(p + 2 * i * 4096, 4096, PROT_READ) != 0) {
				printf("fail mprotect\n");
				return 1;
			}
		for (long i = 0; i < n; i++)
			p[(2 * i + 1) * 4096] = 1;
	} else if (!strcmp(mode, "sbrk")) {
		for (long i = 0; i < n; i++) {
			char *p = sbrk(132 << 10);
			if (p == (void *)-1) {
				printf("fail sbrk\n");
				return 1;
			}
			p[0] = 1;
		}
	} else if (!strcmp(mode, "maps")) {
		char **m = calloc(n, sizeof *m);
		for (long i = 0; i < n; i++) {
			m[i] = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m[i] == MAP_FAILED || munmap(m[i] + 4096, 4096) != 0) {
				printf("fail mmap\n");
				return 1;
			}
			m[i][0] = 1;
		}
		for (long i = 0; i < n; i++)
			if (munmap(m[i], 4096) != 0) {
				printf("fail munmap\n");
				return 1;
			}
	} else if (!strcmp(mode, "futexes")) {
		words = calloc(n, sizeof *words);
		pthread_t *t = start_all(n, wait_own);
		for (long i = 0; i < n; i++) {
			__atomic_store_n(&words[i], 1, __ATOMIC_SEQ_CST);
			futex(&words[i], FUTEX_WAKE_PRIVATE, 1);
		}
		for (long i = 0; i < n; i++)
			pthread_join(t[i], NULL);
	} else if (!strcmp(mode, "wakeone")) {
		pthread_t *t = start_all(n, wait_gate);
		/* A thread counted as started may not wait yet: a wake that finds no waiter
		   is tried again. */
		for (long i = 0; i < n; i++)
			while (futex(&gate, FUTEX_WAKE_PRIVATE, 1) != 1)
				sched_yield();
		for (long i = 0; i < n; i++)
			pthread_join(t[i], NULL);
	} else if (!strcmp(mode, "shmaps")) {
		int fd = memfd_create("cliffs", 0);
		if (fd < 0 || ftruncate(fd, (n / 2 + 1) * 4096L) != 0) {
			printf("fail memfd\n");
			return 1;
		}
		char **m = calloc(n, sizeof *m);
		for (long i = 0; i < n; i++) {
			m[i] = i % 2 ? mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
				     : mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, i / 2 * 4096L);
			if (m[i] == MAP_FAILED) {
				printf("fail mmap\n");
				return 1;
			}
			m[i][0] = 1;
		}
		for (long i = 0; i < n; i++)
			if (munmap(m[i], 4096) != 0) {
				printf("fail munmap\n");
				return 1;
			}
	} else if (!strcmp(mode, "pipereaders")) {
		if (pipe(pipefd) != 0)
			return 1;
		pthread_t *t = start_all(n, read_pipe);
		for (long i = 0; i < n; i++)
			if (write(pipefd[1], "x", 1) != 1) {
				printf("fail write\n");
				return 1;
			}
		for (long i = 0; i < n; i++)
			pthread_join(t[i], NULL);
	} else if (!strcmp(mode, "pollers")) {
		evfds = calloc(n, sizeof *evfds);
		for (long i = 0; i < n; i++)
			if ((evfds[i] = eventfd(0, 0)) < 0) {
				printf("fail eventfd\n");
				return 1;
			}
		pthread_t *t = start_all(n, poll_own);
		for (long i = 0; i < n; i++) {
			unsigned long long one = 1;
			if (write(evfds[i], &one, sizeof one) != sizeof one) {
				printf("fail write\n");
				return 1;
			}
		}
		for (long i = 0; i < n; i++)
			pthread_join(t[i], NULL);
	} else if (!strcmp(mode, "pollpong")) {
		if (pipe(ping) != 0 || pipe(pong) != 0)
			return 1;
		rounds = n;
		pthread_t t;
		pthread_create(&t, NULL, ponger, NULL);
		t0 = bench_now_ns();
		for (long i = 0; i < n; i++) {
			if (write(ping[1], "x", 1) != 1) {
				printf("fail write\n");
				return 1;
			}
			struct pollfd p = {pong[0], POLLIN, 0};
			char b;
			if (poll(&p, 1, -1) != 1 || read(pong[0], &b, 1) != 1) {
				printf("fail pollpong\n");
				return 1;
			}
		}
		pthread_join(t, NULL);
		printf("%.0f\n", (double)(bench_now_ns() - t0) / n);
		return 0;
	} else if (!strcmp(mode, "bigunmap")) {
		size_t size = (size_t)1 << 40;
		for (long i = 0; i < n; i++) {
			char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			if (p == MAP_FAILED) {
				printf("fail mmap\n");
				return 1;
			}
			p[0] = p[size - 1] = 1;
			if (mprotect(p + size / 2, 4096, PROT_READ) != 0 || munmap(p, size) != 0) {
				printf("fail mprotect or munmap\n");
				return 1;
			}
		}
	} else if (!strcmp(mode, "rewrite")) {
		unsigned char *f = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (f == MAP_FAILED)
			return 1;
		static const unsigned char code[] = {0xb8, 0, 0, 0, 0, 0xc3}; /* mov eax, 0; ret */
		memcpy(f + 1, code, sizeof code);
		long sum = 0;
		t0 = bench_now_ns();
		for (long i = 0; i < n; i++) {
			*(volatile int *)(void *)(f + 2) = (int)i; /* the immediate: 4-aligned */
			sum += ((int (*)(void))(f + 1))();
		}
		printf("%.0f %ld\n", (double)(bench_now_ns() - t0) / n, sum);
		return 0;
	} else {
		printf("usage: cliffs threads|mprotect|mprotectdown|sbrk|maps|futexes|wakeone|shmaps|pipereaders|pollers|pollpong|bigunmap|rewrite N\n");
		return 2;
	}
	printf("%.1f\n", (bench_now_ns() - t0) / 1e6);
	return 0;
}
