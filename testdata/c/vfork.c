/* vfork checks that a vfork child runs in its parent's memory until it execs or exits,
 * as the libcs' posix_spawn relies on to report a failed exec.
 *
 * Usage: vfork [child CODE] */
#define _GNU_SOURCE
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

extern char **environ;
int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "child"))
		return atoi(argv[2]);

	volatile int shared = 0;
	int status = 0;
	pid_t pid = vfork();
	if (pid == 0) {
		shared = 42;
		_exit(5);
	}
	waitpid(pid, &status, 0);
	expect("the vfork child's write is the parent's", shared == 42);
	expect("the vfork child's status", WIFEXITED(status) && WEXITSTATUS(status) == 5);

	char *missing[] = {"missing", NULL};
	int r = posix_spawn(&pid, "/nonexistent/program", NULL, NULL, missing, environ);
	expect("posix_spawn of a missing program fails with ENOENT", r == ENOENT);

	char *self[] = {argv[0], "child", "9", NULL};
	r = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, self, environ);
	expect("posix_spawn of itself", r == 0);
	if (r == 0) {
		waitpid(pid, &status, 0);
		expect("its exit status", WIFEXITED(status) && WEXITSTATUS(status) == 9);
	}

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 7, "/nonexistent/file", 0, 0);
	r = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, self, environ);
	expect("a failing file action is reported", r == ENOENT);
	posix_spawn_file_actions_destroy(&fa);
	return failures != 0;
}
