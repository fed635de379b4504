/* proclinks checks paths that walk through the links of a process's /proc directory,
 * its own and a child's: /proc/PID/root/..., /proc/PID/cwd/... and /proc/PID/fd/N/...
 * lead on from the link's object as Linux's walk does (the root's path, the working
 * directory, the directory a descriptor has open), ".." after them climbs from there,
 * and a path through them back into /proc is the process's own /proc again.
 * Usage: proclinks DIR (a directory of its own to work in). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static void try_open(const char *what, int dirfd, const char *p)
{
	int fd = openat(dirfd, p, O_RDONLY);
	if (fd < 0) {
		printf("open %s: %s\n", what, errname(errno));
		return;
	}
	char b[64] = "";
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n > 0)
		b[strcspn(b, "\n")] = 0;
	printf("open %s: %s\n", what, n >= 0 ? b : errname(errno));
}

/* try_readlink prints the link's target with the working directory's path as "CWD". */
static void try_readlink(const char *what, const char *p, const char *cwd)
{
	char b[512];
	ssize_t n = readlink(p, b, sizeof b - 1);
	if (n < 0) {
		printf("readlink %s: %s\n", what, errname(errno));
		return;
	}
	b[n] = 0;
	size_t l = strlen(cwd);
	if (strncmp(b, cwd, l) == 0)
		printf("readlink %s: CWD%s\n", what, b + l);
	else
		printf("readlink %s: %s\n", what, b);
}

static void same(const char *what, const char *a, const char *b)
{
	struct stat x, y;
	int ok = stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
	expect(what, ok);
}

int main(int argc, char **argv)
{
	if (argc != 2 || chdir(argv[1]) != 0) {
		fprintf(stderr, "usage: proclinks DIR\n");
		return 2;
	}
	mkdir("sub", 0755);
	int fd = open("sub/file", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	write(fd, "in sub\n", 7);
	close(fd);
	fd = open("top", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	write(fd, "at the top\n", 11);
	close(fd);
	symlink("sub", "link");
	chdir("sub");
	char cwd[512];
	getcwd(cwd, sizeof cwd);

	try_open("/proc/self/cwd/file", AT_FDCWD, "/proc/self/cwd/file");
	try_open("/proc/self/cwd/../top", AT_FDCWD, "/proc/self/cwd/../top");
	try_open("/proc/self/cwd/../link/file", AT_FDCWD, "/proc/self/cwd/../link/file");
	try_open("/proc/thread-self/cwd/file", AT_FDCWD, "/proc/thread-self/cwd/file");
	try_open("/proc/self/cwd/missing", AT_FDCWD, "/proc/self/cwd/missing");
	try_open("/proc/self/root/proc/self/cwd/file", AT_FDCWD, "/proc/self/root/proc/self/cwd/file");
	try_open("/proc/self/root/proc/self/root/proc/self/cwd/file", AT_FDCWD,
		 "/proc/self/root/proc/self/root/proc/self/cwd/file");
	try_open("/proc/self/cwd/../../../../../../../../proc/self/comm", AT_FDCWD,
		 "/proc/self/cwd/../../../../../../../../proc/self/comm");
	char p[256];
	snprintf(p, sizeof p, "/proc/%d/cwd/file", (int)getpid());
	try_open("/proc/PID/cwd/file", AT_FDCWD, p);
	snprintf(p, sizeof p, "/proc/%d/task/%d/cwd/file", (int)getpid(), (int)getpid());
	try_open("/proc/PID/task/PID/cwd/file", AT_FDCWD, p);
	try_readlink("/proc/self/root", "/proc/self/root", cwd);
	try_readlink("/proc/self/root/proc/self/cwd", "/proc/self/root/proc/self/cwd", cwd);
	try_readlink("/proc/self/cwd/../link", "/proc/self/cwd/../link", cwd);
	try_readlink("/proc/self/cwd/..", "/proc/self/cwd/..", cwd);
	same("stat /proc/self/cwd/. is the working directory", "/proc/self/cwd/.", ".");
	same("stat /proc/self/cwd/.. is its parent", "/proc/self/cwd/..", "..");
	same("stat /proc/self/root/. is /", "/proc/self/root/.", "/");

	/* Each /proc/self/root is two links (self is one): 40 at most, as for symlinks. */
	for (int n = 20; n <= 21; n++) {
		char many[1024] = "";
		for (int i = 0; i < n; i++)
			strcat(many, "/proc/self/root");
		strcat(many, "/.");
		int d = open(many, O_RDONLY | O_DIRECTORY);
		printf("/proc/self/root %d times: %s\n", n, d >= 0 ? "opened" : errname(errno));
		if (d >= 0)
			close(d);
	}

	/* Through a descriptor: a directory's, a pipe's, one not open. */
	int dir = open("..", O_RDONLY | O_DIRECTORY);
	snprintf(p, sizeof p, "/proc/self/fd/%d/top", dir);
	try_open("/proc/self/fd/DIR/top", AT_FDCWD, p);
	snprintf(p, sizeof p, "/proc/self/fd/%d/sub/../top", dir);
	try_open("/proc/self/fd/DIR/sub/../top", AT_FDCWD, p);
	int pfd[2];
	pipe(pfd);
	snprintf(p, sizeof p, "/proc/self/fd/%d/x", pfd[0]);
	try_open("/proc/self/fd/PIPE/x", AT_FDCWD, p);
	try_open("/proc/self/fd/999/x", AT_FDCWD, "/proc/self/fd/999/x");

	/* Relative to a descriptor of the root: its proc/ is the process's /proc. */
	int root = open("/proc/self/root", O_RDONLY | O_DIRECTORY);
	try_open("proc/self/cwd/file from the root's descriptor", root, "proc/self/cwd/file");
	try_open("proc/self/comm from the root's descriptor", root, "proc/self/comm");

	/* A child's, from its parent, while it waits in a directory of its own. */
	int ready[2], done[2];
	pipe(ready);
	pipe(done);
	pid_t c = fork();
	if (c == 0) {
		chdir("..");
		write(ready[1], "x", 1);
		char x;
		read(done[0], &x, 1);
		_exit(0);
	}
	char x;
	read(ready[0], &x, 1);
	snprintf(p, sizeof p, "/proc/%d/cwd/top", (int)c);
	try_open("a child's cwd/top", AT_FDCWD, p);
	snprintf(p, sizeof p, "/proc/%d/cwd/sub/../sub/file", (int)c);
	try_open("a child's cwd/sub/../sub/file", AT_FDCWD, p);
	snprintf(p, sizeof p, "/proc/%d/root/proc/%d/cwd/top", (int)c, (int)c);
	try_open("a child's root/proc/CHILD/cwd/top", AT_FDCWD, p);
	snprintf(p, sizeof p, "/proc/%d/cwd/sub", (int)c);
	try_readlink("a child's cwd/sub", p, cwd);
	write(done[1], "x", 1);
	waitpid(c, NULL, 0);
	snprintf(p, sizeof p, "/proc/%d/cwd/top", (int)c);
	try_open("a reaped child's cwd/top", AT_FDCWD, p);

	unlink("file");
	unlink("../top");
	unlink("../link");
	chdir("..");
	rmdir("sub");
	return failures;
}
