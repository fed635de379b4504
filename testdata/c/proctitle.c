/* proctitle checks that /proc/PID/cmdline and environ show a process's argument and
 * environment strings as they are in its memory now, as Linux reads them: a program
 * that writes a new title over its arguments (setproctitle, as daemons name their
 * workers) shows it in ps, to itself and to other processes. When the NUL that ended
 * the arguments is overwritten, the title runs on into the environment's area, up to
 * the first NUL there. The program starts itself again with known arguments and
 * environment, so that the areas' sizes do not depend on how it was run. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

extern char **environ;

/* show prints a /proc file read in one call (at most lim bytes), NULs as '|'. */
static void show(const char *what, const char *path, int lim)
{
	char b[512];
	int fd = open(path, O_RDONLY);
	int n = fd < 0 ? -1 : read(fd, b, lim);
	if (fd >= 0)
		close(fd);
	printf("%s: %d [", what, n);
	for (int i = 0; i < n; i++)
		putchar(b[i] ? b[i] : '|');
	printf("]\n");
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		char *args[] = {"proctitle", "first", "second", NULL};
		char *env[] = {"A=1", "BB=22", NULL};
		execve("/proc/self/exe", args, env);
		perror("execve");
		return 1;
	}
	char *end = argv[argc - 1] + strlen(argv[argc - 1]); /* the arguments' last NUL */
	size_t len = end - argv[0];

	show("own cmdline", "/proc/self/cmdline", 512);
	show("own environ", "/proc/self/environ", 512);

	/* A child names itself; its parent reads what it wrote. */
	int ready[2], done[2];
	pipe(ready);
	pipe(done);
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		memset(argv[0], 0, len);
		strcpy(argv[0], "worker: idle");
		strcpy(environ[0], "Z=9");
		write(ready[1], "x", 1);
		char x;
		read(done[0], &x, 1);
		_exit(0);
	}
	char x;
	read(ready[0], &x, 1);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)c);
	show("a child's new title", path, 512);
	snprintf(path, sizeof path, "/proc/%d/environ", (int)c);
	show("a child's changed environment", path, 512);
	snprintf(path, sizeof path, "/proc/%d/task/%d/cmdline", (int)c, (int)c);
	show("through its thread", path, 512);
	write(done[1], "x", 1);
	int st;
	waitpid(c, &st, 0);

	/* A child that computes without a system call still answers (ps must not hang). */
	fflush(stdout);
	c = fork();
	if (c == 0) {
		for (volatile unsigned long n = 0;; n++)
			;
	}
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)c);
	show("a computing child's cmdline", path, 512);
	snprintf(path, sizeof path, "/proc/%d/environ", (int)c);
	show("a computing child's environ", path, 512);
	kill(c, SIGKILL);
	waitpid(c, &st, 0);

	/* The last NUL overwritten: the title runs on into the environment. */
	memset(argv[0], 'x', len + 1);
	show("a title over every NUL", "/proc/self/cmdline", 512);
	show("the same, read 7 bytes", "/proc/self/cmdline", 7);
	int fd = open("/proc/self/cmdline", O_RDONLY);
	char b[64];
	printf("pread at 3: %zd\n", pread(fd, b, sizeof b, 3));
	close(fd);
	memset(environ[0], 'e', strlen(environ[0]) + 1 + strlen(environ[1]) + 1);
	show("no NUL left in either", "/proc/self/cmdline", 512);
	show("the environment without NULs", "/proc/self/environ", 512);

	/* The last NUL back, another one early: the plain arguments' area again. */
	*end = 0;
	argv[0][3] = 0;
	show("the arguments' area again", "/proc/self/cmdline", 512);

	/* prctl(PR_SET_MM): its argument checks, the map's size, then CAP_SYS_RESOURCE for
	 * a single field (moving the area's start when the caller has it). */
	unsigned int size = 0;
	expect("PR_SET_MM_MAP_SIZE", prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, (unsigned long)&size, 0, 0) == 0);
	printf("struct prctl_mm_map: %u bytes\n", size);
	expect_err("PR_SET_MM_MAP_SIZE to a bad pointer", prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, 8UL, 0, 0), EFAULT);
	expect_err("PR_SET_MM_ARG_START with a fifth argument",
		   prctl(PR_SET_MM, PR_SET_MM_ARG_START, (unsigned long)argv[0], 0, 1), EINVAL);
	expect_err("PR_SET_MM_ARG_START with a fourth argument",
		   prctl(PR_SET_MM, PR_SET_MM_ARG_START, (unsigned long)argv[0], 1, 0), EINVAL);
	int r = prctl(PR_SET_MM, PR_SET_MM_ARG_START, (unsigned long)argv[0] + 4, 0, 0);
	printf("PR_SET_MM_ARG_START: %s\n", r == 0 ? "moved" : errname(errno));
	show("after it", "/proc/self/cmdline", 512);
	return failures;
}
