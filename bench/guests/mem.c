/* mem MODE ARGS...: memory-heavy work over buffers far larger than any TLB or cache;
   prints one checksum, which must match native. The caller times the process (bench's
   cputime tool: user+sys CPU time).
   MODE: sha256 MIB       SHA-256 of a MIB MiB buffer of pseudo-random bytes
         sieve N          sieve of Eratosthenes over N bytes; the number of primes below N
         memcpy MIB R     R copies between two MIB MiB buffers
         memset MIB R     R fills of a MIB MiB buffer
         chase MIB STEPS  STEPS dependent loads through a MIB MiB array of indices
         gen FILE MIB     write MIB MiB of text-like bytes to FILE (the input of the
                          busybox rows) */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include "bench.h"

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void *big(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 8 <= n; i += 8) {
		uint64_t v = next_rand();
		memcpy(p + i, &v, 8);
	}
}

/* SHA-256, FIPS 180-4. */
static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const uint8_t *b)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 |
		       (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c));
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = bb;
		bb = a;
		a = t1 + t2;
	}
	h[0] += a, h[1] += bb, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

/* The digest's first 64 bits; n is a multiple of 64 (the padding block is added). */
static uint64_t sha256(const uint8_t *p, size_t n)
{
	uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	for (size_t i = 0; i < n; i += 64)
		sha256_block(h, p + i);
	uint8_t pad[64] = {0x80};
	uint64_t bits = (uint64_t)n * 8;
	for (int i = 0; i < 8; i++)
		pad[63 - i] = (uint8_t)(bits >> (8 * i));
	sha256_block(h, pad);
	return (uint64_t)h[0] << 32 | h[1];
}

static uint64_t sum_words(const uint8_t *p, size_t n, size_t stride)
{
	uint64_t s = 0;
	for (size_t i = 0; i + 8 <= n; i += stride) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		s = s * 31 + v;
	}
	return s;
}

static int gen(const char *path, size_t n)
{
	static const char *words[] = {"alpha", "beta", "gamma", "delta", "kernel", "page",
				      "fault", "vsyscall", "clock", "thread", "signal", "futex",
				      "mmap", "brk", "pipe", "socket", "the", "a", "of", "to"};
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return 1;
	}
	size_t done = 0;
	while (done < n) {
		uint64_t r = next_rand();
		int len;
		if (r % 7 == 0)
			len = fprintf(f, "%llu", (unsigned long long)(r >> 40));
		else
			len = fprintf(f, "%s", words[(r >> 8) % 20]);
		fputc(r % 13 == 0 ? '\n' : ' ', f);
		done += (size_t)len + 1;
	}
	if (fclose(f) != 0) {
		perror(path);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: mem sha256|sieve|memcpy|memset|chase|gen ARGS...\n");
		return 2;
	}
	const char *mode = argv[1];
	uint64_t check;
	if (strcmp(mode, "sha256") == 0) {
		size_t n = (size_t)bench_count(argc, argv, 2, 64) << 20;
		uint8_t *p = big(n);
		fill(p, n);
		check = sha256(p, n);
	} else if (strcmp(mode, "sieve") == 0) {
		size_t n = (size_t)bench_count(argc, argv, 2, 32 << 20);
		uint8_t *s = big(n);
		memset(s, 1, n);
		s[0] = s[1] = 0;
		for (size_t i = 2; i * i < n; i++)
			if (s[i])
				for (size_t j = i * i; j < n; j += i)
					s[j] = 0;
		check = 0;
		for (size_t i = 0; i < n; i++)
			check += s[i];
	} else if (strcmp(mode, "memcpy") == 0 || strcmp(mode, "memset") == 0) {
		size_t n = (size_t)bench_count(argc, argv, 2, 32) << 20;
		long rounds = bench_count(argc, argv, 3, 8);
		uint8_t *a = big(n), *b = big(n);
		fill(a, n);
		for (long r = 0; r < rounds; r++) {
			if (mode[3] == 'c') {
				memcpy(b, a, n);
				b[(size_t)r * 4099 % n] ^= (uint8_t)r;
				uint8_t *t = a;
				a = b;
				b = t;
			} else {
				memset(a, (int)r * 37, n);
				a[(size_t)r * 4099 % n] = (uint8_t)r;
			}
		}
		check = sum_words(a, n, 4096 + 8);
	} else if (strcmp(mode, "chase") == 0) {
		size_t n = ((size_t)bench_count(argc, argv, 2, 64) << 20) / sizeof(uint32_t);
		long steps = bench_count(argc, argv, 3, 4000000);
		uint32_t *a = big(n * sizeof *a);
		/* One cycle through every index (a full-period LCG modulo a power of two), so
		   consecutive loads land on unrelated pages. */
		for (size_t i = 0; i < n; i++)
			a[i] = (uint32_t)((i * 2862933555777941757ULL + 3037000493ULL) & (n - 1));
		uint32_t j = 0;
		for (long s = 0; s < steps; s++)
			j = a[j];
		check = j;
	} else if (strcmp(mode, "gen") == 0) {
		return gen(argv[2], (size_t)bench_count(argc, argv, 3, 64) << 20);
	} else {
		fprintf(stderr, "mem: unknown mode %s\n", mode);
		return 2;
	}
	printf("%016llx\n", (unsigned long long)check);
	return 0;
}
