/* shmfork shares memory with many short-lived children at once: each child adds to a
 * counter in a MAP_SHARED mapping, unmaps it and exits while the parent forks the next
 * ones, so that mappings of one memory are made and dropped by several processes at the
 * same time. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define CHILDREN 40

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	volatile long *shared = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	expect("shared mapping", shared != MAP_FAILED);
	if (shared == MAP_FAILED)
		return 1;
	int forked = 0;
	for (int i = 0; i < CHILDREN; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			__atomic_add_fetch(&shared[0], 1, __ATOMIC_SEQ_CST);
			/* Split the mapping, then drop it piece by piece. */
			munmap((void *)&shared[512], 4096);
			munmap((void *)shared, 3 * 4096);
			_exit(0);
		}
		if (pid > 0)
			forked++;
	}
	int ok = 0;
	for (int i = 0; i < forked; i++) {
		int st;
		if (wait(&st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			ok++;
	}
	expect("every child forked and exited", forked == CHILDREN && ok == CHILDREN);
	expect("every child's addition seen", shared[0] == CHILDREN);
	return failures != 0;
}
