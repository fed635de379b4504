/* proc checks the synthetic files under /proc/self, printing booleans. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <grp.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/mman.h>
#include <sched.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "errnames.h"

static int failures;

static void expect(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "yes" : "NO");
	if (!ok)
		failures++;
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static size_t slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	size_t n = 0;
	ssize_t r;
	while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += r;
	close(fd);
	buf[n] = 0;
	return n;
}

int main(int argc, char **argv)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	expect("readlink /proc/self/exe ok", n > 0);
	if (n < 0)
		n = 0;
	exe[n] = 0;
	expect("exe is absolute", exe[0] == '/');
	expect("exe ends with program name", strcmp(base(exe), base(argv[0])) == 0);
	expect("exe exists", access(exe, X_OK) == 0);
	char viaself[4096];
	ssize_t m = readlink("/proc/self/exe", viaself, 4);
	expect("short readlink truncates", m == 4 && memcmp(viaself, exe, 4) == 0);

	static char maps[1 << 20];
	size_t len = slurp("/proc/self/maps", maps, sizeof maps);
	expect("maps non-empty", len > 0);
	int stack = 0, exeline = 0, wellformed = 1, exec_exe = 0, lines = 0;
	for (char *line = strtok(maps, "\n"); line; line = strtok(NULL, "\n")) {
		unsigned long lo, hi, off;
		char perms[8];
		int consumed = 0;
		lines++;
		if (sscanf(line, "%lx-%lx %4s %lx %*x:%*x %*u%n", &lo, &hi, perms, &off, &consumed) < 4 ||
		    lo >= hi || (lo & 0xfff) || (hi & 0xfff) || strlen(perms) != 4)
			wellformed = 0;
		const char *path = line + consumed;
		while (*path == ' ')
			path++;
		if (strcmp(path, "[stack]") == 0)
			stack = 1;
		if (strcmp(path, exe) == 0) {
			exeline = 1;
			if (perms[2] == 'x')
				exec_exe = 1;
		}
	}
	expect("maps lines well formed", wellformed && lines > 2);
	expect("maps has [stack]", stack);
	expect("maps has the executable", exeline);
	expect("maps executable has an r-x line", exec_exe);

	static char cmd[65536];
	size_t cl = slurp("/proc/self/cmdline", cmd, sizeof cmd);
	size_t want = 0;
	for (int i = 0; i < argc; i++)
		want += strlen(argv[i]) + 1;
	int same = cl == want;
	for (size_t off = 0, i = 0; same && i < (size_t)argc; i++) {
		same = strcmp(cmd + off, argv[i]) == 0;
		off += strlen(argv[i]) + 1;
	}
	expect("cmdline matches argv", same);

	char stat[4096];
	slurp("/proc/self/stat", stat, sizeof stat);
	expect("stat starts with pid", atoi(stat) == getpid());

	char fdlink[4096];
	ssize_t fl = readlink("/proc/self/fd/0", fdlink, sizeof fdlink);
	expect("fd/0 link readable", fl > 0);
	expect("readlink /proc/self/fd/99 fails", readlink("/proc/self/fd/99", fdlink, sizeof fdlink) < 0);

	/* /dev/fd/N and /dev/std* lead to the process's own descriptors (shells' process
	 * substitution opens /dev/fd/N). */
	int p[2];
	pipe(p);
	write(p[1], "through /dev/fd", 15);
	char path[64], got[32] = {0};
	snprintf(path, sizeof path, "/dev/fd/%d", p[0]);
	int fd = open(path, O_RDONLY);
	expect("open /dev/fd/N of a pipe", fd >= 0 && read(fd, got, sizeof got) == 15 && !strcmp(got, "through /dev/fd"));
	close(fd);
	struct stat a, b;
	expect("/dev/stdout is fd 1", lstat("/dev/stdout", &a) == 0 && S_ISLNK(a.st_mode) && fstatat(AT_FDCWD, "/dev/stdout", &a, 0) == 0 && fstat(1, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	snprintf(path, sizeof path, "/dev/fd/%d", 999);
	expect("/dev/fd/999 does not exist", open(path, O_RDONLY) < 0);
	close(p[0]);
	close(p[1]);

	/* nice values: per process, inherited by a child. */
	int start = getpriority(PRIO_PROCESS, 0);
	expect("nice(3) adds 3", nice(3) == start + 3 && getpriority(PRIO_PROCESS, 0) == start + 3);
	pid_t c = fork();
	if (c == 0)
		_exit(getpriority(PRIO_PROCESS, 0) == start + 3 ? 0 : 1);
	int st;
	waitpid(c, &st, 0);
	expect("a child inherits it", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	errno = 0;
	expect("setpriority of a reaped child: ESRCH", setpriority(PRIO_PROCESS, c, 1) < 0 && errno == ESRCH);
	errno = 0;
	expect("getpriority with a bad which: EINVAL", getpriority(7, 0) == -1 && errno == EINVAL);

	/* Scheduling policy, times, memory locking and residency. */
	struct sched_param sp = {0};
	/* Raw calls: musl's wrappers answer ENOSYS themselves. */
	expect("sched_getscheduler: SCHED_OTHER", syscall(SYS_sched_getscheduler, 0) == SCHED_OTHER);
	expect("sched_getparam: priority 0", syscall(SYS_sched_getparam, 0, &sp) == 0 && sp.sched_priority == 0);
	expect("sched_setscheduler SCHED_OTHER 0", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &sp) == 0);
	sp.sched_priority = 5;
	errno = 0;
	expect("SCHED_OTHER with priority 5: EINVAL", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &sp) < 0 && errno == EINVAL);
	expect("priority range of SCHED_FIFO", sched_get_priority_max(SCHED_FIFO) == 99 && sched_get_priority_min(SCHED_FIFO) == 1);
	errno = 0;
	expect("priority range of a bad policy: EINVAL", sched_get_priority_max(42) < 0 && errno == EINVAL);
	struct tms tm;
	expect("times counts ticks", times(&tm) != (clock_t)-1);
	char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	page[0] = 1;
	expect("mlock and munlock", mlock(page, 8192) == 0 && munlock(page, 8192) == 0);
	unsigned char vec[2] = {9, 9};
	expect("mincore", mincore(page, 8192, vec) == 0 && (vec[0] & 1));
	expect("msync", msync(page, 8192, MS_SYNC) == 0);
	munmap(page, 8192);
	errno = 0;
	expect("msync of unmapped memory: ENOMEM", msync(page, 8192, MS_SYNC) < 0 && errno == ENOMEM);
	errno = 0;
	expect("mlock of unmapped memory: ENOMEM", mlock(page, 4096) < 0 && errno == ENOMEM);

	/* Dropping privileges in a child, as a daemon does: what it can do depends on who
	 * runs the test, so this prints rather than expects. */
	c = fork();
	if (c == 0) {
		uid_t r, e, s;
		int g = setgroups(0, NULL), gi = setgid(1000), ui = setuid(1000);
		getresuid(&r, &e, &s);
		printf("drop: setgroups %d setgid %d setuid %d -> uid %u/%u/%u gid %u groups %d\n", g, gi, ui,
		       (unsigned)r, (unsigned)e, (unsigned)s, (unsigned)getgid(), getgroups(0, NULL));
		errno = 0;
		int back = setuid(0);
		printf("drop: setuid(0) again %d %s\n", back, back < 0 ? errname(errno) : "");
		errno = 0;
		int re = setreuid(-1, 1000);
		printf("drop: setreuid(-1, 1000) %d, euid %u\n", re, (unsigned)geteuid());
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, &st, 0);

	printf("failures: %d\n", failures);
	return failures ? 1 : 0;
}
