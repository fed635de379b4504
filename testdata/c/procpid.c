/* procpid reads a child's /proc/PID/{stat,status,cmdline,comm} as a parent does to learn
 * its state: sleeping in pause, stopped by SIGSTOP, a zombie once killed; the child's
 * auxv, maps and vDSO as a debugger finds them (through /proc/PID/task/PID too); and the
 * capability lines of its own /proc/self/status. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static int slurp(const char *path, char *buf, int n)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	int r = read(fd, buf, n - 1);
	close(fd);
	buf[r > 0 ? r : 0] = 0;
	return r;
}

/* state reads the state letter of pid's stat. */
static char state(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if (slurp(path, buf, sizeof buf) <= 0)
		return '?';
	char *p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* readall reads a whole file into buf; -1 if it does not open. */
static long readall(const char *path, void *buf, long n)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	long got = 0, r;
	while (got < n && (r = read(fd, (char *)buf + got, n - got)) > 0)
		got += r;
	close(fd);
	return got;
}

/* vdsoview checks what a debugger reads of pid to find its vDSO: AT_SYSINFO_EHDR in its
 * auxv, the [vdso] line of its maps starting there, and an ELF header there in its
 * memory. dir is "/proc/PID" or "/proc/PID/task/PID". */
static void vdsoview(pid_t pid, const char *dir)
{
	static unsigned long aux[512];
	static char maps[65536];
	char path[128], what[160];
	snprintf(path, sizeof path, "%s/auxv", dir);
	long n = readall(path, aux, sizeof aux);
	unsigned long ehdr = 0, entry = 0;
	for (long i = 0; i + 1 < n / 8 && aux[i] != AT_NULL; i += 2) {
		if (aux[i] == AT_SYSINFO_EHDR)
			ehdr = aux[i + 1];
		if (aux[i] == AT_ENTRY)
			entry = aux[i + 1];
	}
	snprintf(what, sizeof what, "child's %s auxv: its vDSO, our program's entry", strstr(dir, "task") ? "task" : "process");
	expect(what, ehdr != 0 && entry == getauxval(AT_ENTRY));
	snprintf(path, sizeof path, "%s/maps", dir);
	n = readall(path, maps, sizeof maps - 1);
	maps[n > 0 ? n : 0] = 0;
	unsigned long start = 0;
	for (char *l = maps; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		char *nl = strchr(l, '\n');
		char *v = strstr(l, "[vdso]");
		if (v && (!nl || v < nl))
			start = strtoul(l, NULL, 16);
	}
	snprintf(what, sizeof what, "child's %s maps: [vdso] at AT_SYSINFO_EHDR", strstr(dir, "task") ? "task" : "process");
	expect(what, start != 0 && start == ehdr);
	snprintf(path, sizeof path, "/proc/%d/task/%d/mem", pid, pid);
	char hdr[4] = {0};
	int fd = open(path, O_RDONLY);
	long r = fd >= 0 ? pread(fd, hdr, sizeof hdr, (off_t)ehdr) : -1;
	if (fd >= 0)
		close(fd);
	snprintf(what, sizeof what, "child's %s vDSO through mem: an ELF header", strstr(dir, "task") ? "task" : "process");
	expect(what, r == 4 && memcmp(hdr, "\177ELF", 4) == 0);
}

/* waitstate polls for letter, up to 5 s, as the test suites' helpers do. */
static char waitstate(pid_t pid, char letter)
{
	for (int i = 0; i < 500; i++) {
		char s = state(pid);
		if (s == letter)
			return s;
		usleep(10000);
	}
	return state(pid);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		for (;;)
			pause();
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		execl(argv[0], argv[0], "child-arg", (char *)NULL);
		_exit(127);
	}
	printf("sleeping: %c\n", waitstate(pid, 'S'));
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
	int n = slurp(path, buf, sizeof buf);
	expect("cmdline", n > 0 && strcmp(buf + strlen(buf) + 1, "child-arg") == 0);
	snprintf(path, sizeof path, "/proc/%d/comm", pid);
	slurp(path, buf, sizeof buf);
	printf("comm: %s", buf);
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	slurp(path, buf, sizeof buf);
	char *ppid = strstr(buf, "PPid:\t");
	expect("status PPid", ppid && atoi(ppid + 6) == getpid());
	char *gid = strstr(buf, "\nGid:\t"), want[64];
	snprintf(want, sizeof want, "\nGid:\t%d\t%d\t%d\t%d\n", getgid(), getegid(), getegid(), getegid());
	expect("status Gid", gid && strncmp(gid, want, strlen(want)) == 0);
	expect("status Groups", strstr(buf, "\nGroups:\t") != NULL);
	char *st = strstr(buf, "State:\t");
	printf("status state: %.12s\n", st ? st + 7 : "none");
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, pid);
	slurp(path, buf, sizeof buf);
	char *rp = strrchr(buf, ')');
	printf("task stat: %d %c\n", atoi(buf) == pid, rp && rp[1] == ' ' ? rp[2] : '?');
	snprintf(path, sizeof path, "/proc/%d", pid);
	vdsoview(pid, path);
	snprintf(path, sizeof path, "/proc/%d/task/%d", pid, pid);
	vdsoview(pid, path);
	kill(pid, SIGSTOP);
	printf("stopped: %c\n", waitstate(pid, 'T'));
	kill(pid, SIGCONT);
	printf("continued: %c\n", waitstate(pid, 'S'));
	kill(pid, SIGKILL);
	printf("killed: %c\n", waitstate(pid, 'Z'));
	int ws;
	waitpid(pid, &ws, 0);
	expect("killed by SIGKILL", WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);

	/* times(): a child's CPU time counts once it has been waited for. */
	struct tms before, after;
	times(&before);
	int pfd[2];
	pipe(pfd);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		volatile unsigned long x = 0;
		struct timespec t0, t1;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
		do {
			for (int i = 0; i < 1000000; i++)
				x += i;
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
		} while ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 300);
		write(pfd[1], "d", 1);
		_exit(0);
	}
	char ch;
	read(pfd[0], &ch, 1);
	usleep(20000);
	times(&after);
	expect("tms_cutime before the wait", after.tms_cutime == before.tms_cutime);
	waitpid(pid, &ws, 0);
	times(&after);
	expect("tms_cutime after the wait", after.tms_cutime + after.tms_cstime - before.tms_cutime - before.tms_cstime >= 20);

	slurp("/proc/self/status", buf, sizeof buf);
	char *cap = strstr(buf, "CapEff:\t");
	printf("own CapEff: %.16s\n", cap ? cap + 8 : "none");
	return failures;
}
