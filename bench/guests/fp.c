/* fp sse N | x87 N: floating-point work, timed from outside (prints a checksum only).
   sse: N rounds of double and float arithmetic, square roots, divisions and conversions,
   which go through SSE; x87: N rounds of long double exp, log and pow, which go through
   the x87's transcendental instructions. */
#include <math.h>
#include <string.h>
#include "bench.h"

static double sse(long n)
{
	double x = 0.5, y = 1.5, s = 0;
	float f = 0;
	for (long i = 0; i < n; i++) {
		x = x * 1.0000001 + 0.3 / (y + (double)i);
		y = sqrt(y + x);
		s += x - y;
		f += (float)x;
		if (x > 1e6)
			x = 0.5;
	}
	return s + f;
}

static double x87(long n)
{
	long double s = 0;
	for (long i = 0; i < n; i++)
		s += expl((long double)i * 1e-6L) + logl(1 + (long double)i) + powl(1.0001L, (long double)(i & 1023));
	return (double)s;
}

int main(int argc, char **argv)
{
	long n = bench_count(argc, argv, 2, 1000000);
	double r = argc > 1 && strcmp(argv[1], "x87") == 0 ? x87(n) : sse(n);
	printf("%.17g\n", r);
	return 0;
}
