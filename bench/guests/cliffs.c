/* cliffs MODE N: address-space and thread work whose cost must grow linearly with N;
   prints elapsed milliseconds.
     threads N    start N threads that all stay alive, then join them
     mprotect N   map N pages and make every other one read-only, one call each
     mprotectdown N  map 2N pages and make every other one read-only, from the top
                  down: each call splits the mapping below the ones before it
     sbrk N       grow the heap N times by 132 KiB, touching each new piece
     maps N       make N one-page mappings that do not join (a free page beside each),
                  touch each, then unmap them */
#include <pthread.h>
#include <string.h>
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
	} else {
		printf("usage: cliffs threads|mprotect|mprotectdown|sbrk|maps N\n");
		return 2;
	}
	printf("%.1f\n", (bench_now_ns() - t0) / 1e6);
	return 0;
}
