/* mapbudget: two processes each make one-page mappings until ENOMEM, and print how many
 * they got. On Linux each process has vm.max_map_count of its own (each mapping here
 * costs two: the page and the hole after it, so about 32,760 each). Under vemu every
 * guest process's memory lives in one host process, whose mappings the host also limits;
 * the counts show how much of that budget the guests get. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static size_t fill(void)
{
	size_t n = 70000;
	char *base = mmap(0, n * 2 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return 0;
	size_t i;
	for (i = 0; i < n; i++) {
		char *p = mmap(base + i * 2 * 4096, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p == MAP_FAILED)
			break;
		p[0] = 1; /* touched: it takes host memory */
	}
	if (errno != ENOMEM)
		printf("ended with %s\n", errname(errno));
	return i;
}

int main(void)
{
	int ready[2], done[2];
	if (pipe(ready) < 0 || pipe(done) < 0)
		return 2;
	pid_t c = fork();
	if (c == 0) {
		close(ready[0]);
		close(done[1]);
		printf("first: %zu\n", fill());
		fflush(stdout);
		write(ready[1], "x", 1);
		char b;
		read(done[0], &b, 1); /* keep the mappings until the second has made its own */
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	char b;
	if (read(ready[0], &b, 1) != 1)
		return 2;
	printf("second: %zu\n", fill());
	fflush(stdout);
	close(done[1]);
	int st;
	waitpid(c, &st, 0);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
