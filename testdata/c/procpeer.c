/* procpeer: what a process reads of another one's /proc/PID, as ps, pgrep and lsof read
 * it: the /proc listing, its descriptors (fd/ and fdinfo/, listed, read as links and
 * reopened), its links (exe, cwd, root), environ, cmdline, task/; a zombie's and a
 * reaped child's; what another uid may not read; and the attacker's paths (pids that
 * are none, descriptors the child does not have, a loop, a child exiting mid-read).
 * Usage: procpeer DIR (an empty directory of its own). */
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

static char work[4096];

/* child is the program re-executed: it opens what the parent then looks at, says so on
 * fd 3 and waits to be killed. */
static int child(const char *dir)
{
	char p[4200];
	for (int fd = 4; fd < 1024; fd++)
		close(fd); /* what the caller's caller left open */
	snprintf(p, sizeof p, "%s/data", dir);
	int fd = open(p, O_RDONLY);
	if (fd != 4 || dup2(fd, 5) != 5 || lseek(5, 3, SEEK_SET) != 3)
		return 1;
	if (fcntl(5, F_DUPFD_CLOEXEC, 9) != 9)
		return 1;
	close(fd);
	snprintf(p, sizeof p, "%s/loop", dir);
	fd = open(p, O_PATH | O_NOFOLLOW);
	if (fd != 4 || dup2(fd, 12) != 12)
		return 1;
	close(fd);
	if (chdir(dir) != 0)
		return 1;
	if (write(3, "r", 1) != 1)
		return 1;
	for (;;)
		pause();
}

static int slurp(const char *path, char *buf, int n)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	int got = 0, r;
	while (got < n - 1 && (r = read(fd, buf + got, n - 1 - got)) > 0)
		got += r;
	close(fd);
	buf[got] = 0;
	return got;
}

/* names lists a directory's entries other than "." and ".." into out, sorted as
 * numbers when numeric, one space between; returns how many. */
static int names(const char *path, char *out, int n)
{
	DIR *d = opendir(path);
	out[0] = 0;
	if (!d)
		return -1;
	long v[256];
	int k = 0;
	struct dirent *e;
	while ((e = readdir(d)) && k < 256) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		v[k++] = atol(e->d_name);
	}
	closedir(d);
	for (int i = 0; i < k; i++)
		for (int j = i + 1; j < k; j++)
			if (v[j] < v[i]) {
				long x = v[i];
				v[i] = v[j];
				v[j] = x;
			}
	for (int i = 0; i < k; i++)
		snprintf(out + strlen(out), n - strlen(out), "%s%ld", i ? " " : "", v[i]);
	return k;
}

static int exited(pid_t c)
{
	int st;
	if (waitpid(c, &st, 0) != c)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int inlisting(const char *dir, pid_t pid)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (atol(e->d_name) == pid && e->d_type == DT_DIR)
			n++;
	closedir(d);
	return n;
}

static const char *linkof(const char *path, char *buf, int n)
{
	ssize_t r = readlink(path, buf, n - 1);
	if (r < 0)
		return NULL;
	buf[r] = 0;
	return buf;
}

/* fdinfoline finds "key:\t..." in an fdinfo file. */
static const char *fdinfoline(const char *path, const char *key, char *buf, int n)
{
	static char text[4096];
	if (slurp(path, text, sizeof text) < 0)
		return "(none)";
	char *l = strstr(text, key);
	if (!l)
		return "(missing)";
	snprintf(buf, n, "%.*s", (int)strcspn(l, "\n"), l);
	return buf;
}

static void look(pid_t c)
{
	char p[256], buf[4200], self[4200], want[4200];

	snprintf(p, sizeof p, "/proc/%d", c);
	struct stat st;
	expect("the /proc listing shows the child once", inlisting("/proc", c) == 1);
	expect("and the caller once", inlisting("/proc", getpid()) == 1);
	expect("/proc/PID is a directory", stat(p, &st) == 0 && S_ISDIR(st.st_mode));

	snprintf(p, sizeof p, "/proc/%d/fd", c);
	names(p, buf, sizeof buf);
	printf("fd/: %s\n", buf);
	snprintf(p, sizeof p, "/proc/%d/fdinfo", c);
	names(p, buf, sizeof buf);
	printf("fdinfo/: %s\n", buf);
	snprintf(p, sizeof p, "/proc/%d/task", c);
	names(p, buf, sizeof buf);
	snprintf(want, sizeof want, "%d", c);
	expect("task/ lists the child's one thread", !strcmp(buf, want));

	snprintf(p, sizeof p, "/proc/%d/fd/5", c);
	snprintf(want, sizeof want, "%s/data", work);
	const char *l = linkof(p, buf, sizeof buf);
	expect("fd/5 links to the child's file", l && !strcmp(l, want));
	expect("fd/5 is a link", lstat(p, &st) == 0 && S_ISLNK(st.st_mode));
	expect("through it, the file", stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 11);
	expect("reopened: the file from its start", slurp(p, buf, sizeof buf) == 11 && !strcmp(buf, "hello world"));
	snprintf(want, sizeof want, "/proc/%d/fdinfo/5", c);
	printf("fdinfo/5 %s\n", fdinfoline(want, "pos:", buf, sizeof buf));
	printf("fdinfo/5 %s\n", fdinfoline(want, "flags:", buf, sizeof buf));
	snprintf(want, sizeof want, "/proc/%d/fdinfo/9", c);
	printf("fdinfo/9 %s\n", fdinfoline(want, "flags:", buf, sizeof buf));
	printf("fdinfo/9 %s\n", fdinfoline(want, "pos:", buf, sizeof buf));

	snprintf(p, sizeof p, "/proc/%d/exe", c);
	l = linkof(p, buf, sizeof buf);
	expect("exe links to the program", l && linkof("/proc/self/exe", self, sizeof self) && !strcmp(l, self));
	snprintf(p, sizeof p, "/proc/%d/cwd", c);
	l = linkof(p, buf, sizeof buf);
	expect("cwd links to the child's directory", l && !strcmp(l, work));
	snprintf(p, sizeof p, "/proc/%d/cwd/data", c);
	expect("and leads there", slurp(p, buf, sizeof buf) == 11);
	snprintf(p, sizeof p, "/proc/%d/root", c);
	l = linkof(p, buf, sizeof buf);
	expect("root links to /", l && !strcmp(l, "/"));
	snprintf(p, sizeof p, "/proc/%d/environ", c);
	int n = slurp(p, buf, sizeof buf);
	expect("environ is the child's", n == 23 && !strcmp(buf, "PEER=1") && !strcmp(buf + 7, "OTHER=two words"));
	snprintf(p, sizeof p, "/proc/%d/cmdline", c);
	n = slurp(p, buf, sizeof buf);
	expect("cmdline is the child's", n > 0 && !strcmp(buf + strlen(buf) + 1, "child"));
	snprintf(p, sizeof p, "/proc/%d/limits", c);
	n = slurp(p, buf, sizeof buf);
	int lines = 0;
	for (int i = 0; i < n; i++)
		lines += buf[i] == '\n';
	char *nice = strstr(buf, "Max nice priority");
	printf("limits: %d lines, nice's: [%.*s]\n", lines, nice ? (int)strcspn(nice, "\n") : 0, nice ? nice : "");

	/* Descriptors the child does not have: vemu's own host descriptors of those numbers
	 * are nothing of the child's. */
	int bad = 0;
	for (int fd = 4; fd < 64; fd++) {
		if (fd == 5 || fd == 9 || fd == 12)
			continue;
		snprintf(p, sizeof p, "/proc/%d/fd/%d", c, fd);
		errno = 0;
		if (readlink(p, buf, sizeof buf) >= 0 || errno != ENOENT)
			bad++;
		if (open(p, O_RDONLY) >= 0 || errno != ENOENT)
			bad++;
		snprintf(p, sizeof p, "/proc/%d/fdinfo/%d", c, fd);
		if (open(p, O_RDONLY) >= 0 || errno != ENOENT)
			bad++;
	}
	expect("no descriptor the child lacks is reachable", bad == 0);
	const char *odd[] = {"fd/05", "fd/+5", "fd/-1", "fd/5x", "fd/99999999999", "fdinfo/-1", "task/0", "task/1", "nosuch"};
	bad = 0;
	for (unsigned i = 0; i < sizeof odd / sizeof *odd; i++) {
		snprintf(p, sizeof p, "/proc/%d/%s", c, odd[i]);
		errno = 0;
		if (open(p, O_RDONLY) >= 0 || errno != ENOENT) {
			printf("open %s: %s\n", odd[i], errname(errno));
			bad++;
		}
	}
	expect("odd names below /proc/PID: ENOENT", bad == 0);

	/* A descriptor of a symbolic link (O_PATH): reopening it is refused, as a loop. */
	snprintf(p, sizeof p, "/proc/%d/fd/12", c);
	l = linkof(p, buf, sizeof buf);
	snprintf(want, sizeof want, "%s/loop", work);
	expect("fd/12 links to the symbolic link", l && !strcmp(l, want));
	expect_err("reopening it", open(p, O_RDONLY), ELOOP);
	snprintf(p, sizeof p, "/proc/%d/cwd/loop", c);
	expect_err("the loop through cwd", open(p, O_RDONLY), ELOOP);

	/* Relative to a descriptor of the child's fd directory. */
	snprintf(p, sizeof p, "/proc/%d/fd", c);
	int dfd = open(p, O_RDONLY | O_DIRECTORY);
	n = dfd >= 0 ? readlinkat(dfd, "5", buf, sizeof buf - 1) : -1;
	snprintf(want, sizeof want, "%s/data", work);
	expect("readlinkat in fd/", n > 0 && (buf[n] = 0, !strcmp(buf, want)));
	int f5 = dfd >= 0 ? openat(dfd, "5", O_RDONLY) : -1;
	expect("openat in fd/", f5 >= 0 && read(f5, buf, 5) == 5 && !memcmp(buf, "hello", 5));
	close(f5);
	close(dfd);
}

/* others checks what a process of another uid may read of c. */
static void others(pid_t c)
{
	if (getuid() != 0) {
		printf("another uid: skipped\n");
		return;
	}
	pid_t g = fork();
	if (g == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(1);
		char p[256], buf[4096];
		snprintf(p, sizeof p, "/proc/%d/fd", c);
		expect_err("another uid: fd/ listing", open(p, O_RDONLY | O_DIRECTORY), EACCES);
		snprintf(p, sizeof p, "/proc/%d/fd/5", c);
		expect_err("another uid: fd/5 readlink", readlink(p, buf, sizeof buf), EACCES);
		snprintf(p, sizeof p, "/proc/%d/fdinfo/5", c);
		expect_err("another uid: fdinfo/5", open(p, O_RDONLY), EACCES);
		snprintf(p, sizeof p, "/proc/%d/exe", c);
		expect_err("another uid: exe readlink", readlink(p, buf, sizeof buf), EACCES);
		snprintf(p, sizeof p, "/proc/%d/cwd", c);
		expect_err("another uid: cwd readlink", readlink(p, buf, sizeof buf), EACCES);
		snprintf(p, sizeof p, "/proc/%d/root", c);
		expect_err("another uid: root readlink", readlink(p, buf, sizeof buf), EACCES);
		snprintf(p, sizeof p, "/proc/%d/environ", c);
		expect_err("another uid: environ", open(p, O_RDONLY), EACCES);
		snprintf(p, sizeof p, "/proc/%d/stat", c);
		expect("another uid: stat readable", slurp(p, buf, sizeof buf) > 0);
		snprintf(p, sizeof p, "/proc/%d/status", c);
		expect("another uid: status readable", slurp(p, buf, sizeof buf) > 0);
		snprintf(p, sizeof p, "/proc/%d/cmdline", c);
		expect("another uid: cmdline readable", slurp(p, buf, sizeof buf) > 0);
		_exit(failures != 0);
	}
	int st;
	waitpid(g, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		failures++;
}

/* owners checks the modes and owners of a process's /proc directories: its effective
 * ids', procfs's modes; and /proc/self is a symbolic link. */
static void owners(void)
{
	struct stat st;
	expect("lstat /proc/self: a symbolic link", lstat("/proc/self", &st) == 0 && S_ISLNK(st.st_mode));
	expect("stat /proc/self: a directory", stat("/proc/self", &st) == 0 && S_ISDIR(st.st_mode) &&
						       (st.st_mode & 07777) == 0555 && st.st_uid == geteuid());
	if (getuid() != 0) {
		printf("owners of another uid: skipped\n");
		return;
	}
	int ready[2];
	pipe(ready);
	pid_t c = fork();
	if (c == 0) {
		if (setgid(65533) || setuid(65534))
			_exit(1);
		write(ready[1], "r", 1);
		for (;;)
			pause();
	}
	char r, p[128];
	read(ready[0], &r, 1);
	const char *dirs[] = {"", "/fd", "/fdinfo", "/task", "/ns"};
	for (unsigned i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		snprintf(p, sizeof p, "/proc/%d%s", c, dirs[i]);
		if (stat(p, &st) != 0)
			printf("/proc/PID%s: %s\n", dirs[i], errname(errno));
		else
			printf("/proc/PID%s: %o %d:%d\n", dirs[i], st.st_mode, st.st_uid, st.st_gid);
	}
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	close(ready[0]);
	close(ready[1]);
}

/* gone checks a zombie (dead == 0) or a reaped child's (dead == 1) /proc/PID. */
static void gone(pid_t c, int reaped)
{
	char p[256], buf[4096];
	const char *w = reaped ? "reaped" : "zombie";
	char what[128];
	snprintf(p, sizeof p, "/proc/%d/fd", c);
	if (reaped) {
		snprintf(what, sizeof what, "%s: fd/", w);
		expect_err(what, open(p, O_RDONLY | O_DIRECTORY), ENOENT);
		snprintf(p, sizeof p, "/proc/%d", c);
		expect_err("reaped: stat /proc/PID", stat(p, &(struct stat){0}), ENOENT);
		snprintf(p, sizeof p, "/proc/%d/stat", c);
		expect_err("reaped: stat file", open(p, O_RDONLY), ENOENT);
		expect("reaped: not in the listing", inlisting("/proc", c) == 0);
	} else {
		expect("zombie: fd/ lists nothing", names(p, buf, sizeof buf) == 0);
		expect("zombie: still in the listing", inlisting("/proc", c) == 1);
	}
	snprintf(p, sizeof p, "/proc/%d/fd/5", c);
	snprintf(what, sizeof what, "%s: fd/5", w);
	expect_err(what, readlink(p, buf, sizeof buf), ENOENT);
	snprintf(p, sizeof p, "/proc/%d/exe", c);
	snprintf(what, sizeof what, "%s: exe", w);
	expect_err(what, readlink(p, buf, sizeof buf), ENOENT);
	snprintf(p, sizeof p, "/proc/%d/cwd", c);
	snprintf(what, sizeof what, "%s: cwd", w);
	expect_err(what, readlink(p, buf, sizeof buf), ENOENT);
	if (!reaped) {
		snprintf(p, sizeof p, "/proc/%d/environ", c);
		expect_err("zombie: environ (no memory left)", open(p, O_RDONLY), ESRCH);
	}
}

/* race reads children's /proc entries while they exit. */
static void race(void)
{
	int odd = 0;
	for (int i = 0; i < 100; i++) {
		pid_t c = fork();
		if (c == 0)
			_exit(0);
		char p[256], buf[4096];
		const char *ents[] = {"fd", "fd/0", "fdinfo/1", "exe", "cwd", "environ", "stat", "status", "task"};
		for (unsigned j = 0; j < sizeof ents / sizeof *ents; j++) {
			snprintf(p, sizeof p, "/proc/%d/%s", c, ents[j]);
			errno = 0;
			if (readlink(p, buf, sizeof buf) < 0 && errno != ENOENT && errno != EINVAL)
				odd++;
			int fd = open(p, O_RDONLY);
			if (fd >= 0) {
				while (read(fd, buf, sizeof buf) > 0)
					;
				close(fd);
			} else if (errno != ENOENT && errno != ESRCH) {
				odd++;
				printf("race %s: %s\n", ents[j], errname(errno));
			}
		}
		waitpid(c, NULL, 0);
	}
	expect("children exiting mid-read: only ENOENT or ESRCH", odd == 0);
}

/* hammer reads other's maps and a word of its memory n times; the count that worked. */
static int hammer(pid_t other, int n)
{
	char maps[64], mem[64], buf[65536];
	snprintf(maps, sizeof maps, "/proc/%d/maps", other);
	snprintf(mem, sizeof mem, "/proc/%d/mem", other);
	int ok = 0;
	for (int i = 0; i < n; i++) {
		int fd = open(maps, O_RDONLY);
		long r = 0, got = 0;
		while (fd >= 0 && (r = read(fd, buf, sizeof buf)) > 0)
			got += r;
		close(fd);
		fd = open(mem, O_RDONLY);
		long word = 0;
		if (got > 0 && fd >= 0 && pread(fd, &word, sizeof word, (long)&work) == sizeof word)
			ok++;
		close(fd);
	}
	return ok;
}

/* mutual: a parent and its child read each other's maps and memory at the same time;
 * neither ends before the other is done. */
static void mutual(void)
{
	pid_t parent = getpid();
	int done[2], back[2];
	if (pipe(done) || pipe(back))
		return;
	pid_t c = fork();
	if (c == 0) {
		close(done[1]);
		close(back[0]);
		int ok = hammer(parent, 300);
		close(back[1]);
		char x;
		read(done[0], &x, 1);
		_exit(ok == 300 ? 0 : 1);
	}
	close(done[0]);
	close(back[1]);
	int ok = hammer(c, 300);
	char x;
	read(back[0], &x, 1);
	close(done[1]);
	expect("two processes reading each other's maps and mem at once", ok == 300 && exited(c) == 0);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 3 && !strcmp(argv[1], "child"))
		return child(argv[2]);
	if (argc != 2 || !realpath(argv[1], work)) {
		fprintf(stderr, "usage: procpeer DIR\n");
		return 2;
	}
	char p[4200];
	snprintf(p, sizeof p, "%s/data", work);
	FILE *f = fopen(p, "w");
	fputs("hello world", f);
	fclose(f);
	snprintf(p, sizeof p, "%s/loop", work);
	unlink(p);
	symlink("loop", p);

	int sync[2];
	if (pipe(sync))
		return 1;
	pid_t c = fork();
	if (c == 0) {
		close(sync[0]);
		if (sync[1] != 3) {
			dup2(sync[1], 3);
			close(sync[1]);
		}
		char *args[] = {"procpeer", "child", work, NULL};
		char *env[] = {"PEER=1", "OTHER=two words", NULL};
		execve("/proc/self/exe", args, env);
		_exit(127);
	}
	close(sync[1]);
	char r;
	expect("child ready", read(sync[0], &r, 1) == 1);
	close(sync[0]);

	look(c);
	others(c);
	owners();

	const char *none[] = {"/proc/0", "/proc/-1", "/proc/00", "/proc/2147483648", "/proc/99999999999999999999",
			      "/proc/0/fd", "/proc/-1/exe", "/proc/4194305/fd"};
	int bad = 0;
	for (unsigned i = 0; i < sizeof none / sizeof *none; i++) {
		errno = 0;
		if (open(none[i], O_RDONLY) >= 0 || errno != ENOENT) {
			printf("%s: %s\n", none[i], errname(errno));
			bad++;
		}
	}
	expect("pids that are none: ENOENT", bad == 0);

	kill(c, SIGKILL);
	siginfo_t si;
	waitid(P_PID, c, &si, WEXITED | WNOWAIT);
	gone(c, 0);
	waitpid(c, NULL, 0);
	gone(c, 1);
	race();
	mutual();
	return failures != 0;
}
