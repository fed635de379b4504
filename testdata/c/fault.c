/* fault dies of the fault selected by argv[1]; it exits 0 only when no fault happens. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int zero = 0;
static volatile int thousand = 1000;
static int *volatile nullp = 0;

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static int recurse(int n)
{
	volatile char pad[256];
	pad[0] = (char)n;
	return recurse(n + 1) + pad[0];
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fault null|rodata|ud2|trap|div|int3|abort|stack|none\n");
		return 2;
	}
	const char *what = argv[1];
	/* Make sure the line reaches stdout before the fault. */
	printf("fault: %s\n", what);
	fflush(stdout);
	if (strcmp(what, "null") == 0) {
		return *nullp;
	} else if (strcmp(what, "rodata") == 0) {
		volatile char *s = (volatile char *)"a string literal";
		s[0] = 'A';
		return s[0];
	} else if (strcmp(what, "ud2") == 0) {
		__asm__ volatile("ud2");
	} else if (strcmp(what, "trap") == 0) {
		__builtin_trap();
	} else if (strcmp(what, "div") == 0) {
		return thousand / zero;
	} else if (strcmp(what, "int3") == 0) {
		__asm__ volatile("int3");
	} else if (strcmp(what, "abort") == 0) {
		abort();
	} else if (strcmp(what, "stack") == 0) {
		return recurse(0);
	} else if (strcmp(what, "none") == 0) {
		return 0;
	} else {
		fprintf(stderr, "fault: unknown case %s\n", what);
		return 2;
	}
	printf("fault: survived\n");
	return 1;
}
