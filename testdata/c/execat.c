/* execat DIR PROG: execveat's flags. A symbolic link as the last component with
   AT_SYMLINK_NOFOLLOW is ELOOP, unknown flags are EINVAL, and AT_EMPTY_PATH runs the
   program behind a descriptor (PROG, a dynamically linked one where the host has it). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

static long execveat_(int dirfd, const char *path, char **argv, int flags)
{
	char *envp[] = {NULL};
	return syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: execat DIR PROG\n");
		return 2;
	}
	char link[4096];
	snprintf(link, sizeof link, "%s/link", argv[1]);
	symlink(argv[2], link);
	char *args[] = {argv[2], "run", NULL};
	expect_err("a symlink with AT_SYMLINK_NOFOLLOW", execveat_(AT_FDCWD, link, args, AT_SYMLINK_NOFOLLOW), ELOOP);
	expect_err("unknown flags", execveat_(AT_FDCWD, argv[2], args, 0x1), EINVAL);
	expect_err("an empty path without AT_EMPTY_PATH", execveat_(AT_FDCWD, "", args, 0), ENOENT);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open(argv[2], O_RDONLY | O_CLOEXEC);
		execveat_(fd, "", args, AT_EMPTY_PATH);
		_exit(99);
	}
	int st;
	waitpid(pid, &st, 0);
	expect("AT_EMPTY_PATH runs the program", WIFEXITED(st) && WEXITSTATUS(st) != 99);
	pid = fork();
	if (pid == 0) {
		execveat_(AT_FDCWD, link, args, 0);
		_exit(99);
	}
	waitpid(pid, &st, 0);
	expect("a symlink is followed without the flag", WIFEXITED(st) && WEXITSTATUS(st) != 99);
	return failures != 0;
}
