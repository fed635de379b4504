/* cpu N [sum]: N rounds of integer mixing, array indexing, a hash over a 64 KiB table and
   an insertion sort of a small window; prints elapsed milliseconds and a checksum (only
   the checksum with "sum", for timing from outside). */
#include <stdint.h>
#include <string.h>
#include "bench.h"

#define WORDS (65536 / sizeof(uint32_t))
#define WINDOW 64

static uint32_t table[WORDS];

static uint32_t xorshift(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static void sort_window(uint32_t *a, int n)
{
	for (int i = 1; i < n; i++) {
		uint32_t v = a[i];
		int j = i - 1;
		while (j >= 0 && a[j] > v) {
			a[j + 1] = a[j];
			j--;
		}
		a[j + 1] = v;
	}
}

static uint64_t fnv(const uint32_t *a, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	const unsigned char *p = (const unsigned char *)a;
	for (size_t i = 0; i < n * sizeof *a; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

int main(int argc, char **argv)
{
	long rounds = bench_count(argc, argv, 1, 40);
	uint32_t seed = 2463534242u;
	uint64_t check = 0;

	for (size_t i = 0; i < WORDS; i++)
		table[i] = xorshift(&seed);

	long long t0 = bench_now_ns();
	for (long r = 0; r < rounds; r++) {
		/* Arithmetic and dependent indexing. */
		uint32_t idx = (uint32_t)r;
		uint64_t acc = 0;
		for (size_t i = 0; i < WORDS * 4; i++) {
			idx = (idx * 1103515245u + 12345u) ^ table[idx % WORDS];
			acc += (uint64_t)idx * 2654435761u + (acc >> 7);
			table[i % WORDS] += (uint32_t)acc;
		}
		check ^= acc;

		/* Sort windows of the table. */
		for (size_t w = 0; w + WINDOW <= WORDS; w += WINDOW * 8)
			sort_window(&table[w], WINDOW);

		/* Hash the whole table byte by byte. */
		check += fnv(table, WORDS);
	}
	long long t1 = bench_now_ns();

	if (argc > 2 && strcmp(argv[2], "sum") == 0)
		printf("%016llx\n", (unsigned long long)check);
	else
		printf("%.3f %016llx\n", (double)(t1 - t0) / 1e6, (unsigned long long)check);
	return 0;
}
