/* procsymlink follows symbolic links of its own into /proc: to /proc/self, to its exe, to
 * one of its descriptors, to /proc/thread-self, and a relative path from /proc as the
 * working directory. Each must reach the process's own entries as naming /proc
 * directly does: the same link targets, files, stat answers and descriptors. (Not
 * checked: stat following such a path to its end, which vemu answers for its own.) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

static char dir[] = "/tmp/procsymlinkXXXXXX";

static char *in(const char *name)
{
	static char buf[4][PATH_MAX];
	static int n;
	char *b = buf[n++ % 4];
	snprintf(b, PATH_MAX, "%s/%s", dir, name);
	return b;
}

/* same_link: readlink of a and b give the same target. */
static int same_link(const char *a, const char *b)
{
	char x[PATH_MAX], y[PATH_MAX];
	ssize_t n = readlink(a, x, sizeof x - 1), m = readlink(b, y, sizeof y - 1);
	if (n < 0 || m < 0)
		return 0;
	x[n] = y[m] = 0;
	return strcmp(x, y) == 0;
}

/* line_of reads the first line of the file p that starts with key. */
static int line_of(const char *p, const char *key, char *out, size_t len)
{
	FILE *f = fopen(p, "r");
	if (!f)
		return 0;
	int ok = 0;
	while (fgets(out, len, f))
		if (!strncmp(out, key, strlen(key))) {
			ok = 1;
			break;
		}
	fclose(f);
	return ok;
}

static int same_line(const char *a, const char *b, const char *key)
{
	char x[256], y[256];
	return line_of(a, key, x, sizeof x) && line_of(b, key, y, sizeof y) && !strcmp(x, y);
}

static int same_stat(const char *a, const char *b, int follow)
{
	struct stat x, y;
	int (*f)(const char *, struct stat *) = follow ? stat : lstat;
	return f(a, &x) == 0 && f(b, &y) == 0 && x.st_ino == y.st_ino && x.st_dev == y.st_dev &&
	       x.st_mode == y.st_mode && x.st_size == y.st_size;
}

static void *thread(void *arg)
{
	(void)arg;
	expect("a link to /proc/thread-self: the thread's own status (its Pid line)",
	       same_line(in("thread/status"), "/proc/thread-self/status", "Pid:"));
	char tid[64];
	snprintf(tid, sizeof tid, "Pid:\t%ld\n", (long)syscall(SYS_gettid));
	char got[256];
	expect("... and that Pid is the thread's id", line_of(in("thread/status"), "Pid:", got, sizeof got) && !strcmp(got, tid));
	return NULL;
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	if (symlink("/proc/self", in("self")) || symlink("/proc/self/exe", in("exe")) ||
	    symlink("/proc/thread-self", in("thread")) || symlink("loop2", in("loop1")) ||
	    symlink("loop1", in("loop2")))
		return 1;
	/* A relative link climbing to / and down into /proc. */
	char up[PATH_MAX] = "";
	for (const char *s = dir; *s; s++)
		if (*s == '/')
			strcat(up, "../");
	char rel[PATH_MAX];
	snprintf(rel, sizeof rel, "%sproc/self", up);
	if (symlink(rel, in("rel")))
		return 1;
	int p[2];
	if (pipe(p))
		return 1;
	char fdlink[64];
	snprintf(fdlink, sizeof fdlink, "/proc/self/fd/%d", p[1]);
	if (symlink(fdlink, in("pipe")))
		return 1;

	expect("readlink through a link to /proc/self: the program's own exe", same_link(in("self/exe"), "/proc/self/exe"));
	expect("readlink through a relative link into /proc", same_link(in("rel/exe"), "/proc/self/exe"));
	expect("lstat through a link to /proc/self: exe is a symbolic link", same_stat(in("self/exe"), "/proc/self/exe", 0));
	struct stat st;
	expect("lstat of /proc/self/exe itself: a symbolic link", lstat("/proc/self/exe", &st) == 0 && S_ISLNK(st.st_mode));
	/* A last component "." (or a trailing slash) follows the link before it. */
	expect("lstat of /proc/self/.: a directory", lstat("/proc/self/.", &st) == 0 && S_ISDIR(st.st_mode));
	expect("lstat of /proc/self/: a directory", lstat("/proc/self/", &st) == 0 && S_ISDIR(st.st_mode));
	expect("lstat of /proc/self/cwd/.: a directory", lstat("/proc/self/cwd/.", &st) == 0 && S_ISDIR(st.st_mode));
	expect("stat through a link to /proc/self: the working directory", same_stat(in("self/cwd"), "/proc/self/cwd", 1));
	expect("open through a link to /proc/self: its status (Name line)", same_line(in("self/status"), "/proc/self/status", "Name:"));
	expect("open through a link to /proc/self: its status (Pid line)", same_line(in("self/status"), "/proc/self/status", "Pid:"));
	expect("open through a link to /proc/self: its cmdline", same_line(in("self/cmdline"), "/proc/self/cmdline", ""));
	int fd = open(in("exe"), O_RDONLY);
	struct stat a, b;
	expect("open of a link to /proc/self/exe: the program's file",
	       fd >= 0 && fstat(fd, &a) == 0 && stat("/proc/self/exe", &b) == 0 && a.st_ino == b.st_ino);
	close(fd);
	fd = open(in("pipe"), O_WRONLY);
	char c = 0;
	expect("open of a link to /proc/self/fd/N: the process's descriptor N (the pipe)",
	       fd >= 0 && write(fd, "z", 1) == 1 && read(p[0], &c, 1) == 1 && c == 'z');
	close(fd);
	expect_err("a loop of links", open(in("loop1"), O_RDONLY), ELOOP);
	/* The process's memory, and a descriptor it does not have. */
	static volatile long secret = 0x5eed1e55;
	long got = 0;
	fd = open(in("self/mem"), O_RDONLY);
	expect("open of mem through a link to /proc/self: the process's own memory",
	       fd >= 0 && pread(fd, &got, sizeof got, (off_t)(unsigned long)&secret) == sizeof got && got == secret);
	close(fd);
	if (symlink("/proc/self/fd/900", in("nofd")))
		return 1;
	expect_err("open of a link to a descriptor the process lacks", open(in("nofd"), O_RDONLY), ENOENT);
	expect_err("readlink through a link to a descriptor the process lacks", readlink(in("self/fd/900"), fdlink, sizeof fdlink), ENOENT);

	/* The links whose targets name the caller, and /dev's links into /proc/self/fd. */
	char want[64], got_link[PATH_MAX];
	ssize_t n = readlink("/proc/self", got_link, sizeof got_link - 1);
	snprintf(want, sizeof want, "%d", (int)getpid());
	expect("readlink /proc/self: the pid", n > 0 && (got_link[n] = 0, !strcmp(got_link, want)));
	n = readlink("/proc/thread-self", got_link, sizeof got_link - 1);
	snprintf(want, sizeof want, "%d/task/%d", (int)getpid(), (int)syscall(SYS_gettid));
	expect("readlink /proc/thread-self: pid/task/tid", n > 0 && (got_link[n] = 0, !strcmp(got_link, want)));
	n = readlink("/proc/self", got_link, 2);
	expect("readlink /proc/self into 2 bytes: cut to 2", n == 2);
	const char *dev[][2] = {{"/dev/stdin", "/proc/self/fd/0"}, {"/dev/stdout", "/proc/self/fd/1"},
				{"/dev/stderr", "/proc/self/fd/2"}, {"/dev/fd", "/proc/self/fd"}};
	for (int i = 0; i < 4; i++) {
		char line[96];
		n = readlink(dev[i][0], got_link, sizeof got_link - 1);
		snprintf(line, sizeof line, "readlink %s: %s", dev[i][0], dev[i][1]);
		expect(line, n > 0 && (got_link[n] = 0, !strcmp(got_link, dev[i][1])));
		snprintf(line, sizeof line, "lstat %s: a symbolic link", dev[i][0]);
		expect(line, lstat(dev[i][0], &st) == 0 && S_ISLNK(st.st_mode));
	}

	pthread_t t;
	pthread_create(&t, NULL, thread, NULL);
	pthread_join(t, NULL);

	/* From /proc as the working directory. */
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof cwd) || chdir("/proc"))
		return 1;
	expect("from /proc: open self/status", same_line("self/status", "/proc/self/status", "Pid:"));
	expect("from /proc: readlink self/exe", same_link("self/exe", "/proc/self/exe"));
	expect("from /proc: lstat self/exe is a symbolic link", lstat("self/exe", &st) == 0 && S_ISLNK(st.st_mode));
	if (chdir(cwd))
		return 1;

	for (const char *n = "self\0exe\0thread\0loop1\0loop2\0rel\0pipe\0nofd\0"; *n; n += strlen(n) + 1)
		unlink(in(n));
	rmdir(dir);
	return failures != 0;
}
