/* cwd checks getcwd against what happened to the working directory since chdir: a parent
 * renamed (the new path), the directory removed (ENOENT), a path longer than a page
 * (ENAMETOOLONG), a buffer too small (ERANGE), and /proc/self/cwd after a rename.
 * Paths are printed relative to the starting directory, which differs from run to run.
 * Usage: cwd DIR   (an empty directory to work in) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

static char start[PATH_MAX];

/* show prints the working directory relative to start, or getcwd's error. */
static void show(const char *what)
{
	char buf[PATH_MAX];
	long r = syscall(SYS_getcwd, buf, sizeof buf);
	if (r < 0) {
		printf("%s: %s\n", what, errname(errno));
		return;
	}
	size_t n = strlen(start);
	printf("%s: %s\n", what, strncmp(buf, start, n) == 0 ? buf + n : buf);
}

int main(int argc, char **argv)
{
	if (argc < 2 || chdir(argv[1]) != 0 || !getcwd(start, sizeof start)) {
		perror("cwd: set up");
		return 2;
	}
	mkdir("a", 0755);
	mkdir("a/b", 0755);
	chdir("a/b");
	show("in a/b");
	expect("rename a to c", rename("../../a", "../../c") == 0);
	show("after the rename");
	char link[PATH_MAX];
	ssize_t n = readlink("/proc/self/cwd", link, sizeof link - 1);
	link[n > 0 ? n : 0] = 0;
	expect("/proc/self/cwd follows", n > 0 && strcmp(link + strlen(start), "/c/b") == 0);
	char small[4];
	expect_err("a buffer too small", syscall(SYS_getcwd, small, sizeof small), ERANGE);

	chdir(start);
	mkdir("gone", 0755);
	chdir("gone");
	expect("rmdir the working directory", rmdir("../gone") == 0);
	show("after rmdir");
	expect_err("getcwd after rmdir", syscall(SYS_getcwd, link, sizeof link), ENOENT);

	/* Deeper than a page: 20 levels of 250-byte names. */
	chdir(start);
	char name[251];
	memset(name, 'd', 250);
	name[250] = 0;
	int levels = 0;
	for (; levels < 20; levels++)
		if (mkdir(name, 0755) != 0 || chdir(name) != 0)
			break;
	expect("20 levels made", levels == 20);
	char big[3 * PATH_MAX];
	expect_err("getcwd deeper than a page", syscall(SYS_getcwd, big, sizeof big), ENAMETOOLONG);
	for (int i = 0; i < levels; i++) {
		chdir("..");
		rmdir(name);
	}
	show("back up");
	return failures != 0;
}
