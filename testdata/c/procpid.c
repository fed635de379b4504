/* procpid reads a child's /proc/PID/{stat,status,cmdline,comm} as a parent does to learn
 * its state: sleeping in pause, stopped by SIGSTOP, a zombie once killed; and the
 * capability lines of its own /proc/self/status. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	char *st = strstr(buf, "State:\t");
	printf("status state: %.12s\n", st ? st + 7 : "none");
	kill(pid, SIGSTOP);
	printf("stopped: %c\n", waitstate(pid, 'T'));
	kill(pid, SIGCONT);
	printf("continued: %c\n", waitstate(pid, 'S'));
	kill(pid, SIGKILL);
	printf("killed: %c\n", waitstate(pid, 'Z'));
	int ws;
	waitpid(pid, &ws, 0);
	expect("killed by SIGKILL", WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);

	slurp("/proc/self/status", buf, sizeof buf);
	char *cap = strstr(buf, "CapEff:\t");
	printf("own CapEff: %.16s\n", cap ? cap + 8 : "none");
	return failures;
}
