/* execcomm: the name execve gives a process, as Linux's begin_new_exec() does: the base
 * name of the path as passed (a symbolic link's own name, a script's name, cut to 15
 * bytes), or for execveat(fd, "", AT_EMPTY_PATH) the name of the file itself, with
 * AT_EXECFN "/dev/fd/N" or "/dev/fd/N/path" for a path relative to a descriptor. Each
 * child prints its /proc/self/comm, PR_GET_NAME, the name in /proc/self/stat and
 * AT_EXECFN; the parent reads the child's /proc/PID/comm while it waits. Run with a
 * directory "work" to make links and a script in. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static void readline(const char *path, char *buf, size_t n)
{
	buf[0] = 0;
	FILE *f = fopen(path, "r");
	if (f) {
		if (!fgets(buf, n, f))
			buf[0] = 0;
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = 0;
}

static int child(void)
{
	char comm[64], stat[256], name[17] = {0};
	readline("/proc/self/comm", comm, sizeof comm);
	readline("/proc/self/stat", stat, sizeof stat);
	char *l = strchr(stat, '('), *r = strrchr(stat, ')');
	if (l && r)
		*r = 0;
	prctl(PR_GET_NAME, name);
	const char *fn = (const char *)getauxval(AT_EXECFN);
	if (fn && strncmp(fn, "/dev/fd/", 8) != 0 && strrchr(fn, '/'))
		fn = strrchr(fn, '/') + 1; /* the temporary directory's name varies */
	printf("  comm %s, PR_GET_NAME %s, stat (%s), AT_EXECFN %s\n", comm, name, l ? l + 1 : "?", fn ? fn : "?");
	fflush(stdout);
	/* Tell the parent, and wait for it to read /proc/PID/comm. */
	char c = 0;
	write(9, &c, 1);
	read(0, &c, 1);
	return 0;
}

/* run forks a child that execs through how, and prints what the child and the parent see. */
static void run(const char *what, void (*how)(char **), char **argv)
{
	int p[2], ready[2];
	pipe(p);
	pipe(ready);
	printf("%s:\n", what);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[0], 0);
		dup2(ready[1], 9);
		close(p[1]);
		close(ready[0]);
		how(argv);
		printf("  exec failed: %s\n", errname(errno));
		_exit(127);
	}
	close(p[0]);
	close(ready[1]);
	char path[64], comm[64] = "", c;
	if (read(ready[0], &c, 1) == 1) {
		snprintf(path, sizeof path, "/proc/%d/comm", pid);
		readline(path, comm, sizeof comm);
	}
	close(ready[0]);
	printf("  parent sees %s\n", comm);
	fflush(stdout);
	close(p[1]);
	int st;
	waitpid(pid, &st, 0);
}

static const char *self, *dir;

static char *at(const char *name)
{
	static char buf[4][4096];
	static int i;
	char *b = buf[i++ % 4];
	snprintf(b, sizeof buf[0], "%s/%s", dir, name);
	return b;
}

static void via_path(char **argv) { execv(argv[0], argv); }

static void via_dirfd(char **argv)
{
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	dup2(d, 7);
	syscall(SYS_execveat, 7, "short", argv, environ, 0);
}

static void via_fd(char **argv)
{
	int fd = open(self, O_RDONLY);
	dup2(fd, 8);
	syscall(SYS_execveat, 8, "", argv, environ, AT_EMPTY_PATH);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return child();
	if (argc < 2)
		return 2;
	static char selfbuf[4096], dirbuf[4096];
	ssize_t n = readlink("/proc/self/exe", selfbuf, sizeof selfbuf - 1);
	if (n <= 0 || !realpath(argv[1], dirbuf))
		return 2;
	self = selfbuf;
	dir = dirbuf;
	unlink(at("short"));
	unlink(at("a-rather-long-program-name"));
	unlink(at("myscript"));
	symlink(self, at("short"));
	symlink(self, at("a-rather-long-program-name"));
	FILE *f = fopen(at("myscript"), "w");
	fprintf(f, "#!%s child\n", self);
	fclose(f);
	chmod(at("myscript"), 0755);

	char *a1[] = {at("short"), "child", NULL};
	run("a symbolic link", via_path, a1);
	char *a2[] = {at("a-rather-long-program-name"), "child", NULL};
	run("a long name", via_path, a2);
	char *a3[] = {"short", "child", NULL};
	run("execveat of a path relative to a descriptor", via_dirfd, a3);
	char *a4[] = {"whatever", "child", NULL};
	run("execveat of a descriptor (AT_EMPTY_PATH)", via_fd, a4);
	/* The script's interpreter gets "child", the script's path, and its arguments. */
	char *a5[] = {at("myscript"), NULL};
	run("a script", via_path, a5);
	return failures != 0;
}
