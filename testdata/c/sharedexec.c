/* sharedexec: a process that shares memory forks a child that execs and then spins in
 * its own code without system calls; the parent still runs (it is woken from a sleep,
 * kills the child and reaps it), whether the child was forked or vforked. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

extern char **environ;

static int spin_after_exec(int use_vfork, const char *self)
{
	int p[2];
	if (pipe(p) != 0)
		return 0;
	char fd[16];
	snprintf(fd, sizeof fd, "%d", p[1]);
	char *args[] = {(char *)self, "spin", fd, NULL};
	pid_t c = use_vfork ? vfork() : fork();
	if (c == 0) {
		execve(self, args, environ);
		_exit(127);
	}
	close(p[1]);
	char b;
	if (c < 0 || read(p[0], &b, 1) != 1) /* the child is about to spin */
		return 0;
	close(p[0]);
	struct timespec ts = {0, 50 * 1000 * 1000};
	nanosleep(&ts, NULL);
	kill(c, SIGKILL);
	int st;
	return waitpid(c, &st, 0) == c && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "spin") == 0) {
		int fd = atoi(argv[2]);
		write(fd, "s", 1);
		for (volatile unsigned long i = 0;; i++)
			;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	int *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	expect("MAP_SHARED anonymous memory", shared != MAP_FAILED);
	*shared = 1;
	expect("fork, exec, spin: the parent runs", spin_after_exec(0, "/proc/self/exe"));
	expect("vfork, exec, spin: the parent runs", spin_after_exec(1, "/proc/self/exe"));
	return failures != 0;
}
