/* coredump checks how a death by a core-dumping signal is reported and what it leaves:
 * wait's WCOREDUMP, waitid's si_code, a zombie's /proc/PID/stat exit_code, and the core
 * file (present, owner, mode, ELF core type) as RLIMIT_CORE and the working directory
 * allow. Linux writes the file as /proc/sys/kernel/core_pattern says; the checks assume
 * the plain pattern "core" (core.PID with core_uses_pid), and say so when the host differs.
 *
 *   coredump status DIR     the checks above, each child in a directory of its own in DIR
 *   coredump crash          set RLIMIT_CORE to its hard limit, then crash in crash_here
 *   coredump plain          crash in crash_here with the RLIMIT_CORE it started with
 *   coredump threads N      start N threads that block, then crash in crash_here
 *   coredump reserve        reserve 16 TiB without access and 4 GiB with, touch a page of
 *                           each writable one, raise RLIMIT_CORE, crash
 *   coredump big MIB        touch MIB MiB, say "touched", then crash (for a signal during
 *                           the dump)
 * Run "status" as root: a child drops to another uid. */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static int *volatile bad = (int *)0x10;

__attribute__((noinline)) void crash_here(int v)
{
	*bad = v; /* SIGSEGV at address 0x10 */
	__asm__ volatile("" ::: "memory");
}

static const char *signame(int sig)
{
	switch (sig) {
	case SIGSEGV:
		return "SIGSEGV";
	case SIGABRT:
		return "SIGABRT";
	case SIGQUIT:
		return "SIGQUIT";
	case SIGTERM:
		return "SIGTERM";
	}
	static char buf[16];
	snprintf(buf, sizeof buf, "%d", sig);
	return buf;
}

static void setcore(rlim_t cur)
{
	struct rlimit r;
	getrlimit(RLIMIT_CORE, &r);
	if (cur == RLIM_INFINITY || (r.rlim_max != RLIM_INFINITY && cur > r.rlim_max))
		cur = r.rlim_max;
	r.rlim_cur = cur;
	if (setrlimit(RLIMIT_CORE, &r) != 0)
		perror("setrlimit");
}

/* What a case's child does. */
enum how { SEGV, ABORT, QUIT, TERM };

static void die(enum how how)
{
	switch (how) {
	case SEGV:
		crash_here(1);
		break;
	case ABORT:
		abort();
	case QUIT:
		kill(getpid(), SIGQUIT);
		break;
	case TERM:
		kill(getpid(), SIGTERM);
		break;
	}
	_exit(99);
}

/* exit_code is the last field of /proc/PID/stat. */
static long stat_exit_code(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *last = strrchr(buf, ' ');
	return last ? strtol(last + 1, NULL, 10) : -1;
}

static const char *codename(int code)
{
	switch (code) {
	case CLD_EXITED:
		return "CLD_EXITED";
	case CLD_KILLED:
		return "CLD_KILLED";
	case CLD_DUMPED:
		return "CLD_DUMPED";
	}
	return "?";
}

/* describe prints what a core file in dir looks like. */
static void describe(const char *dir, pid_t pid, rlim_t limit)
{
	char path[512];
	struct stat st;
	/* core, or core.PID where kernel.core_uses_pid is set */
	snprintf(path, sizeof path, "%s/core.%d", dir, pid);
	if (lstat(path, &st) != 0)
		snprintf(path, sizeof path, "%s/core", dir);
	if (lstat(path, &st) != 0) {
		printf("  core file: none\n");
		return;
	}
	Elf64_Ehdr eh;
	int fd = open(path, O_RDONLY);
	int ok = fd >= 0 && read(fd, &eh, sizeof eh) == sizeof eh && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0;
	if (fd >= 0)
		close(fd);
	printf("  core file: %s, mode %04o, owner %d:%d, %s\n", S_ISREG(st.st_mode) ? "regular" : "not regular",
	       st.st_mode & 07777, st.st_uid, st.st_gid,
	       ok ? (eh.e_type == ET_CORE && eh.e_machine == EM_X86_64 ? "ELF core x86-64" : "ELF, not a core")
		  : "not ELF");
	if (limit != RLIM_INFINITY && limit != 0)
		/* Linux counts the bytes written, not the holes between them. */
		printf("  blocks within RLIMIT_CORE: %s\n", (rlim_t)st.st_blocks * 512 <= limit ? "yes" : "NO");
}

/* Flags of run. */
enum {
	KEEP = 1,     /* keep the RLIMIT_CORE the program started with */
	REDUMP = 2,   /* after changing uid, PR_SET_DUMPABLE 1 */
	NODUMP = 4,   /* PR_SET_DUMPABLE 0 */
};

/* run forks a child that sets RLIMIT_CORE to limit (unless KEEP), goes to dir as uid (-1:
 * stays root), and dies as how says; then reports its end. */
static void run(const char *what, const char *dir, rlim_t limit, int flags, uid_t uid, enum how how)
{
	int keep = flags & KEEP;
	printf("%s:\n", what);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (!keep)
			setcore(limit);
		if (chdir(dir) != 0)
			_exit(98);
		if (uid != (uid_t)-1 && (setgid(uid) != 0 || setuid(uid) != 0))
			_exit(97);
		if (uid != (uid_t)-1)
			printf("  dumpable after setuid: %d\n", prctl(PR_GET_DUMPABLE));
		if (flags & REDUMP)
			prctl(PR_SET_DUMPABLE, 1);
		if (flags & NODUMP) {
			prctl(PR_SET_DUMPABLE, 0);
			printf("  dumpable: %d\n", prctl(PR_GET_DUMPABLE));
		}
		fflush(stdout);
		die(how);
	}
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) != 0)
		perror("waitid");
	printf("  waitid: si_code %s, si_status %s\n", codename(si.si_code), signame(si.si_status));
	printf("  /proc/PID/stat exit_code: %#lx\n", stat_exit_code(pid));
	int status;
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		printf("  wait: WIFSIGNALED, WTERMSIG %s, WCOREDUMP %d\n", signame(WTERMSIG(status)),
		       WCOREDUMP(status) ? 1 : 0);
	else
		printf("  wait: exited %d\n", WEXITSTATUS(status));
	describe(dir, pid, limit);
}

static char *subdir(const char *base, const char *name)
{
	static char bufs[16][512];
	static int n;
	char *p = bufs[n++ % 16];
	snprintf(p, 512, "%s/%s", base, name);
	if (mkdir(p, 0755) != 0)
		perror(p);
	return p;
}

static void status(const char *base)
{
	char line[64] = "";
	int fd = open("/proc/sys/kernel/core_pattern", O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, line, sizeof line - 1);
		line[n > 0 ? n : 0] = 0;
		close(fd);
	}
	if (strcmp(line, "core\n") != 0)
		printf("core_pattern is not \"core\": %s", line);

	run("SIGSEGV, RLIMIT_CORE unlimited", subdir(base, "segv"), RLIM_INFINITY, 0, -1, SEGV);
	run("abort, RLIMIT_CORE unlimited", subdir(base, "abort"), RLIM_INFINITY, 0, -1, ABORT);
	run("SIGQUIT, RLIMIT_CORE 1 MiB", subdir(base, "quit"), 1 << 20, 0, -1, QUIT);
	run("SIGTERM, RLIMIT_CORE unlimited", subdir(base, "term"), RLIM_INFINITY, 0, -1, TERM);
	run("SIGSEGV, RLIMIT_CORE 0", subdir(base, "zero"), 0, 0, -1, SEGV);
	run("abort, RLIMIT_CORE 4095", subdir(base, "tiny"), 4095, 0, -1, ABORT);

	/* The limit the program started with. */
	struct rlimit r;
	getrlimit(RLIMIT_CORE, &r);
	printf("initial RLIMIT_CORE: %s\n", r.rlim_cur == 0 ? "0" : r.rlim_cur == RLIM_INFINITY ? "unlimited" : "other");
	run("SIGSEGV, the initial RLIMIT_CORE", subdir(base, "initial"), 0, KEEP, -1, SEGV);

	/* A limit the dump does not fit: the file is cut there, and not reported as dumped. */
	run("SIGSEGV, RLIMIT_CORE 12 KiB", subdir(base, "cut"), 12 << 10, 0, -1, SEGV);

	/* A symbolic link named core is replaced, never followed. */
	char *ln = subdir(base, "link");
	char target[600], lpath[600];
	snprintf(target, sizeof target, "%s/target", ln);
	snprintf(lpath, sizeof lpath, "%s/core", ln);
	close(open(target, O_CREAT | O_WRONLY, 0644));
	if (symlink(target, lpath) != 0)
		perror("symlink");
	run("SIGSEGV over a symbolic link", ln, RLIM_INFINITY, 0, -1, SEGV);
	struct stat st;
	stat(target, &st);
	printf("  link target untouched: %s\n", st.st_size == 0 ? "yes" : "NO");

	/* An old core file is replaced by the new one. */
	char *old = subdir(base, "old");
	snprintf(lpath, sizeof lpath, "%s/core", old);
	int ofd = open(lpath, O_CREAT | O_WRONLY, 0644);
	if (write(ofd, "old", 3) != 3)
		perror("write");
	close(ofd);
	run("SIGSEGV over an old core file", old, RLIM_INFINITY, 0, -1, SEGV);

	/* As nobody: a directory it may not write gets no core; one it may gets a core of its own. */
	char *ro = subdir(base, "readonly");
	chmod(base, 0755);
	run("SIGSEGV as nobody in a directory it cannot write", ro, RLIM_INFINITY, REDUMP, 65534, SEGV);
	char *rw = subdir(base, "nobody");
	chmod(rw, 0777);
	run("SIGSEGV as nobody, not dumpable", rw, RLIM_INFINITY, 0, 65534, SEGV);
	run("SIGSEGV as nobody, dumpable again", rw, RLIM_INFINITY, REDUMP, 65534, SEGV);
	run("SIGSEGV as root, PR_SET_DUMPABLE 0", subdir(base, "nodump"), RLIM_INFINITY, NODUMP, -1, SEGV);
	/* A core file of root's in a directory nobody may write: replaced (Linux unlinks it). */
	char *sticky = subdir(base, "sticky");
	chmod(sticky, 01777);
	snprintf(lpath, sizeof lpath, "%s/core", sticky);
	close(open(lpath, O_CREAT | O_WRONLY, 0644));
	run("SIGSEGV as nobody over root's core in a sticky directory", sticky, RLIM_INFINITY, REDUMP, 65534, SEGV);

	/* A working directory that was removed. */
	char *gone = subdir(base, "gone");
	printf("removed working directory:\n");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		setcore(RLIM_INFINITY);
		if (chdir(gone) != 0 || rmdir(gone) != 0)
			_exit(98);
		crash_here(2);
		_exit(99);
	}
	int wst;
	waitpid(pid, &wst, 0);
	printf("  wait: %s, WCOREDUMP %d\n", WIFSIGNALED(wst) ? signame(WTERMSIG(wst)) : "exited", WCOREDUMP(wst) ? 1 : 0);
}

static void *blocker(void *arg)
{
	int *fds = arg;
	char c;
	for (;;)
		if (read(fds[0], &c, 1) <= 0)
			pause();
	return NULL;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && strcmp(argv[1], "status") == 0) {
		status(argv[2]);
		return failures != 0;
	}
	if (argc >= 2 && strcmp(argv[1], "crash") == 0) {
		setcore(RLIM_INFINITY);
		crash_here(3);
	}
	if (argc >= 2 && strcmp(argv[1], "plain") == 0)
		crash_here(7);
	if (argc >= 3 && strcmp(argv[1], "threads") == 0) {
		setcore(RLIM_INFINITY);
		int n = atoi(argv[2]);
		static int fds[2];
		if (pipe(fds) != 0)
			return 1;
		for (int i = 0; i < n; i++) {
			pthread_t th;
			pthread_attr_t a;
			pthread_attr_init(&a);
			pthread_attr_setstacksize(&a, 64 << 10);
			if (pthread_create(&th, &a, blocker, fds) != 0) {
				printf("pthread_create %d failed\n", i);
				return 1;
			}
		}
		usleep(100000);
		crash_here(4);
	}
	if (argc >= 2 && strcmp(argv[1], "reserve") == 0) {
		setcore(RLIM_INFINITY);
		char *none = mmap(NULL, 16ULL << 40, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		char *rw = mmap(NULL, 4ULL << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (none == MAP_FAILED || rw == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		rw[(2ULL << 30) + 5] = 42;
		crash_here(5);
	}
	if (argc >= 3 && strcmp(argv[1], "big") == 0) {
		setcore(RLIM_INFINITY);
		size_t n = (size_t)atoi(argv[2]) << 20;
		char *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return 1;
		for (size_t i = 0; i < n; i += 4096)
			m[i] = (char)(i >> 12) | 1;
		printf("touched\n");
		crash_here(6);
	}
	fprintf(stderr, "usage: coredump status DIR | crash | plain | threads N | reserve | big MIB\n");
	return 2;
}
