/* procwalk walks /proc/self, a thread's task/TID and another process's /proc/PID:
 * every entry's name, type and mode (lstat), whether it opens and reads (one huge read,
 * then to its end, at most a few MiB), whether a link reads, and what a write to a
 * read-only entry answers; then the same of a root process's directory by an
 * unprivileged one, and map_files's links. It prints only what Linux makes the same from
 * run to run. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static char big[16 << 20];

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* names lists dir's entries but . and .., sorted; NULL and errno when it does not open. */
static char **names(const char *dir, int *n)
{
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	char **v = NULL;
	int cap = 0;
	*n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (*n == cap)
			v = realloc(v, (cap = cap * 2 + 16) * sizeof *v);
		v[(*n)++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(v, *n, sizeof *v, cmp);
	return v;
}

static const char *res(long r)
{
	return r < 0 ? errname(errno) : "ok";
}

/* readall reads fd with one huge read, then on until its end or 4 MiB. */
static const char *readall(int fd)
{
	long r = read(fd, big, sizeof big), total = r;
	while (r > 0 && total < (4 << 20))
		total += r = read(fd, big, 1 << 16);
	return res(r);
}

/* many says whether a directory's listing differs between runs (descriptors, threads,
 * mappings, the network's files): only its entries' kinds are printed. */
static int many(const char *name)
{
	return !strcmp(name, "fd") || !strcmp(name, "fdinfo") || !strcmp(name, "task") ||
	       !strcmp(name, "map_files") || !strcmp(name, "net");
}

static void walk(const char *dir, const char *label, int depth);

static void entry(const char *dir, const char *name, const char *label, int depth, int quiet)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	struct stat st;
	if (lstat(p, &st) < 0) {
		if (!quiet)
			printf("%s/%s: lstat %s\n", label, name, errname(errno));
		return;
	}
	char kind = S_ISLNK(st.st_mode) ? 'l' : S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? '-' : '?';
	char line[512];
	int o = snprintf(line, sizeof line, "%s/%s: %c%04o", label, name, kind, st.st_mode & 07777);
	if (kind == 'l') {
		char t[512];
		errno = 0;
		o += snprintf(line + o, sizeof line - o, " readlink %s", res(readlink(p, t, sizeof t)));
	}
	int fd = open(p, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	o += snprintf(line + o, sizeof line - o, " open %s", res(fd));
	if (fd >= 0) {
		struct stat fst;
		if (fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode) && strcmp(name, "mem"))
			o += snprintf(line + o, sizeof line - o, " read %s", readall(fd));
		close(fd);
	}
	if (kind == '-' && !(st.st_mode & 0222)) {
		/* A read-only entry: a write must fail, whoever may open it. */
		int w = open(p, O_WRONLY | O_CLOEXEC);
		o += snprintf(line + o, sizeof line - o, " wopen %s", res(w));
		if (w >= 0) {
			o += snprintf(line + o, sizeof line - o, " write %s", res(write(w, "1\n", 2)));
			close(w);
		}
	}
	if (!quiet)
		printf("%s\n", line);
	if (kind == 'd' && depth < 1) {
		char sub[512];
		snprintf(sub, sizeof sub, "%s/%s", label, name);
		walk(p, sub, depth + 1);
	}
}

static void walk(const char *dir, const char *label, int depth)
{
	int n;
	char **v = names(dir, &n);
	if (!v) {
		printf("%s: opendir %s\n", label, errname(errno));
		return;
	}
	const char *base = strrchr(label, '/') ? strrchr(label, '/') + 1 : label;
	if (depth > 0 && many(base)) {
		/* Each entry still goes through lstat, open and read, printed by kind only. */
		int links = 0, dirs = 0, files = 0;
		for (int i = 0; i < n; i++) {
			char p[512];
			struct stat st;
			snprintf(p, sizeof p, "%s/%s", dir, v[i]);
			if (lstat(p, &st) == 0) {
				links += S_ISLNK(st.st_mode);
				dirs += S_ISDIR(st.st_mode);
				files += S_ISREG(st.st_mode);
			}
			entry(dir, v[i], label, 9, 1);
		}
		printf("%s: %s%s%s\n", label, links ? "links " : "", dirs ? "dirs " : "", files ? "files" : "");
		return;
	}
	for (int i = 0; i < n; i++)
		entry(dir, v[i], label, depth, 0);
}

/* mapfiles checks /proc/self/map_files: its first entry (the program's first mapping)
 * links to the program, and opens for root only. */
static void mapfiles(const char *who, const char *dir)
{
	int n;
	char md[128];
	snprintf(md, sizeof md, "%s/map_files", dir);
	char **v = names(md, &n);
	if (!v || n == 0) {
		printf("%s map_files: %s\n", who, v ? "empty" : errname(errno));
		return;
	}
	char p[512], exe[512] = "", t[512] = "";
	snprintf(p, sizeof p, "%s/%s", md, v[0]);
	readlink("/proc/self/exe", exe, sizeof exe - 1);
	long r = readlink(p, t, sizeof t - 1);
	printf("%s map_files: readlink %s, the program %s", who, res(r), !strcmp(t, exe) ? "yes" : "NO");
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	printf(", open %s", res(fd));
	struct stat a, b;
	if (fd >= 0) {
		printf(", the program's file %s", fstat(fd, &a) == 0 && stat(exe, &b) == 0 && a.st_ino == b.st_ino ? "yes" : "NO");
		close(fd);
	}
	printf(", stat %s\n", res(stat(p, &a)));
	snprintf(p, sizeof p, "%s/%s0", md, v[0]);
	printf("%s map_files: a range of no mapping: lstat %s\n", who, res(lstat(p, &a)));
}

/* absent checks names that are no entry: lstat, stat, open and readlink must all fail,
 * as Linux's, never answered by another file. */
static void absent(pid_t peer)
{
	static const char *names[] = {"/proc/self/bogus", "/proc/self/attr/bogus", "/proc/self/map_files/bogus",
				      "/proc/self/map_files/1000-2000", "/proc/self/ns/bogus", "/proc/self/children",
				      "/proc/thread-self/timers", "/proc/thread-self/autogroup", "/proc/self/environ/x",
				      "/proc/self/attr/current/x", "/proc/self/task/0/status", "/proc/%d/children",
				      "/proc/%d/task/%d/timers", "/proc/%d/task/%d/map_files", "/proc/%d/attr/bogus",
				      "/proc/%d/bogus", "/proc/self/fdinfo/999", "/proc/self/exe/x", "/proc/%d/exe/x",
				      "/proc/%d/environ/x"};
	for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
		char p[128], b[256];
		struct stat st;
		snprintf(p, sizeof p, names[i], peer, peer);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		printf("absent %s: lstat %s", names[i], res(lstat(p, &st)));
		printf(" stat %s", res(stat(p, &st)));
		printf(" open %s", res(fd));
		printf(" readlink %s\n", res(readlink(p, b, sizeof b)));
		if (fd >= 0)
			close(fd);
	}
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int up[2], down[2];
	pipe(up);
	pipe(down);
	pid_t c = fork();
	if (c == 0) {
		char b;
		write(up[1], "x", 1);
		read(down[0], &b, 1);
		_exit(0);
	}
	char b;
	read(up[0], &b, 1);

	walk("/proc/self", "self", 0);
	mapfiles("root", "/proc/self");
	char p[64];
	snprintf(p, sizeof p, "/proc/self/task/%d", getpid());
	walk(p, "task/TID", 0);
	snprintf(p, sizeof p, "/proc/%d", c);
	walk(p, "peer", 0);
	mapfiles("peer", p);
	absent(c);

	if (getuid() == 0) {
		pid_t u = fork();
		if (u == 0) {
			if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
				_exit(1);
			walk(p, "nobody-peer", 0);
			mapfiles("nobody", "/proc/self");
			mapfiles("nobody-peer", p);
			walk("/proc/self", "nobody-self", 0);
			_exit(0);
		}
		int st;
		waitpid(u, &st, 0);
		expect("nobody's walk exits 0", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	} else {
		printf("nobody's walk: skipped\n");
	}
	write(down[1], "x", 1);
	waitpid(c, NULL, 0);
	return failures;
}
