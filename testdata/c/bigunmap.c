/* bigunmap maps terabytes for reading (nothing touched, nothing reserved), says "ready",
 * and unmaps them: instant on Linux, long under an emulator that drops the mapping page
 * by page. A SIGTERM meanwhile must end the program as it would natively.
 *
 * Usage: bigunmap GiB */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
	size_t size = (size_t)(argc > 1 ? atol(argv[1]) : 8192) << 30;
	char *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	munmap(p, size);
	printf("unmapped\n");
	return 0;
}
