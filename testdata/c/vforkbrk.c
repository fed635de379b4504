/* vforkbrk checks that a vfork child, which runs in its parent's memory, moves the one
 * program break they share: a C library's malloc in such a child (gdb starts its
 * programs that way) grows the heap, and its parent's allocator then uses the pages
 * beyond the break the parent had, with what the child wrote there. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static char *brk_now(void) { return (char *)syscall(SYS_brk, 0); }

int main(void)
{
	char *start = brk_now();
	int grown = 1, kept = 1, shrunk = 1;
	for (int r = 0; r < 20; r++) {
		char *b = brk_now();
		pid_t pid = vfork();
		if (pid == 0) {
			/* Grow by 40 pages, write them, give 8 back; or on odd rounds shrink. */
			if (r % 2 == 0) {
				syscall(SYS_brk, b + 40 * 4096);
				memset(b, 'a' + r % 26, 40 * 4096);
				syscall(SYS_brk, b + 32 * 4096);
			} else {
				syscall(SYS_brk, b - 4 * 4096);
			}
			_exit(0);
		}
		int st;
		waitpid(pid, &st, 0);
		char *now = brk_now();
		if (r % 2 == 0) {
			grown &= now == b + 32 * 4096;
			for (long i = 0; i < 32 * 4096; i += 4096)
				kept &= b[i] == 'a' + r % 26;
			memset(b, 0, 32 * 4096); /* the parent writes there too */
		} else {
			shrunk &= now == b - 4 * 4096;
		}
	}
	expect("the child's grown break is the parent's", grown);
	expect("the parent reads what the child wrote beyond its old break", kept);
	expect("the child's shrunk break is the parent's", shrunk);
	/* A child that execs releases its parent the same way. */
	char *b = brk_now();
	pid_t pid = vfork();
	if (pid == 0) {
		syscall(SYS_brk, b + 8 * 4096);
		b[5 * 4096] = 'x';
		execl("/bin/true", "true", (char *)0);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	expect("after an exec too", brk_now() == b + 8 * 4096 && b[5 * 4096] == 'x');
	syscall(SYS_brk, start);
	return failures != 0;
}
