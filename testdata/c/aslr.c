/* aslr prints the addresses and random bytes a process is given, one "name: value" a line, so
 * that runs can be compared for (non-)determinism. Lines for addresses start with "addr ". */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int local;
	(void)argc;
	printf("addr stack: %p\n", (void *)&local);
	printf("addr argv: %p\n", (void *)argv);
	printf("addr brk: %#lx\n", (unsigned long)syscall(SYS_brk, 0));
	printf("addr malloc small: %p\n", malloc(16));
	printf("addr malloc big: %p\n", malloc(1 << 20));
	printf("addr mmap: %p\n", mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	printf("addr vdso: %#lx\n", getauxval(AT_SYSINFO_EHDR));
	printf("addr main: %p\n", (void *)main);
	const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
	printf("at_random:");
	for (int i = 0; r && i < 16; i++)
		printf(" %02x", r[i]);
	printf("\n");
	unsigned char buf[8] = {0};
	long n = syscall(SYS_getrandom, buf, sizeof buf, 0);
	printf("getrandom %ld:", n);
	for (int i = 0; i < 8; i++)
		printf(" %02x", buf[i]);
	printf("\n");
	return 0;
}
