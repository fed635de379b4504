/* procmisc reads and writes the smaller files of /proc/self: oom_score_adj, oom_adj and
 * oom_score with Linux's parsing, ranges and floor; timerslack_ns beside prctl's;
 * personality; io's counts of reads and writes (a waited-for child's included); and the
 * files that show the process's cgroup, user namespace and audit ids. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "held.h"

static char buf[4096];

/* slurp reads path with one read, and a second for its end, and returns the first's count. */
static int slurp(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	int n = read(fd, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = 0;
	char more[16];
	read(fd, more, sizeof more);
	close(fd);
	return n;
}

static long num(const char *path)
{
	slurp(path);
	return strtol(buf, NULL, 10);
}

/* put writes s to path and prints what the write returned. */
static void put(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0) {
		printf("open %s: %s\n", path, errname(errno));
		return;
	}
	long r = write(fd, s, strlen(s));
	const char *shown = path;
	if (strncmp(path, "/proc/self/", 11))
		shown = strchr(path + 6, '/'); /* another process's: without its pid */
	printf("write %s \"%.*s\": %s", shown, (int)strcspn(s, "\n"), s, r < 0 ? errname(errno) : "");
	if (r >= 0)
		printf("%ld", r);
	printf(" -> %s", (slurp(path), buf));
	close(fd);
}

static unsigned long long io(const char *key)
{
	slurp("/proc/self/io");
	char *p = strstr(buf, key);
	return p ? strtoull(p + strlen(key) + 2, NULL, 10) : ~0ULL;
}

int main(void)
{
	/* io first, before anything is printed: the counts must not see stdout's writes. */
	int a = slurp("/proc/self/io");
	unsigned long long r0, w0, cr0, cw0;
	sscanf(strstr(buf, "rchar"), "rchar: %llu\nwchar: %llu\nsyscr: %llu\nsyscw: %llu", &r0, &w0, &cr0, &cw0);
	int z = open("/dev/zero", O_RDONLY), nul = open("/dev/null", O_WRONLY);
	char b[100];
	for (int i = 0; i < 3; i++)
		read(z, b, sizeof b);
	write(nul, b, 10);
	write(nul, b, 10);
	read(-1, b, 1); /* EBADF: not counted */
	pid_t c = fork();
	if (c == 0) {
		for (int i = 0; i < 4; i++)
			write(nul, b, 25);
		_exit(0);
	}
	waitpid(c, NULL, 0);
	slurp("/proc/self/io");
	unsigned long long r1, w1, cr1, cw1;
	sscanf(strstr(buf, "rchar"), "rchar: %llu\nwchar: %llu\nsyscr: %llu\nsyscw: %llu", &r1, &w1, &cr1, &cw1);
	printf("io: %llu more bytes read in %llu reads, %llu written in %llu writes\n", r1 - r0 - a, cr1 - cr0, w1 - w0,
	       cw1 - cw0);
	printf("io keys: %s\n", strstr(buf, "read_bytes") ? "read_bytes" : "NO");
	(void)io;

	printf("oom_score_adj: %ld, oom_adj %ld, oom_score %ld\n", num("/proc/self/oom_score_adj"),
	       num("/proc/self/oom_adj"), num("/proc/self/oom_score"));
	put("/proc/self/oom_score_adj", "500\n");
	printf("oom_adj then: %ld\n", num("/proc/self/oom_adj"));
	put("/proc/self/oom_score_adj", "1001");
	put("/proc/self/oom_score_adj", "abc");
	put("/proc/self/oom_score_adj", "0x10");
	put("/proc/self/oom_score_adj", "  12 \n");
	put("/proc/self/oom_score_adj", "00000000000000000000000000005");
	put("/proc/self/oom_score_adj", "1000");
	printf("oom_score at 1000: %ld\n", num("/proc/self/oom_score"));
	put("/proc/self/oom_adj", "16");
	put("/proc/self/oom_adj", "15");
	put("/proc/self/oom_adj", "7");
	put("/proc/self/oom_adj", "-17");
	put("/proc/self/oom_score_adj", "-1");
	c = fork();
	if (c == 0) {
		printf("child's oom_score_adj: %ld\n", num("/proc/self/oom_score_adj"));
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, NULL, 0);

	printf("timerslack_ns: %ld\n", num("/proc/self/timerslack_ns"));
	put("/proc/self/timerslack_ns", "1000\n");
	printf("PR_GET_TIMERSLACK: %d\n", prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
	put("/proc/self/timerslack_ns", " 5");
	put("/proc/self/timerslack_ns", "+5");
	put("/proc/self/timerslack_ns", "0");
	prctl(PR_SET_TIMERSLACK, 777, 0, 0, 0);
	printf("after PR_SET_TIMERSLACK: %ld\n", num("/proc/self/timerslack_ns"));

	slurp("/proc/self/coredump_filter");
	printf("coredump_filter: %s", buf);
	put("/proc/self/coredump_filter", "0x7f\n");
	put("/proc/self/coredump_filter", "0x3ff");
	put("/proc/self/coredump_filter", "abc");
	put("/proc/self/coredump_filter", " 5");
	put("/proc/self/coredump_filter", "017");
	fflush(stdout);
	c = fork();
	if (c == 0) {
		/* Kept by fork and by exec. */
		execl("/bin/cat", "cat", "/proc/self/coredump_filter", (char *)NULL);
		_exit(127);
	}
	waitpid(c, NULL, 0);

	personality(ADDR_NO_RANDOMIZE);
	slurp("/proc/self/personality");
	printf("personality: %s", buf);

	slurp("/proc/self/uid_map");
	printf("uid_map: %s", buf);
	slurp("/proc/self/setgroups");
	printf("setgroups: %s", buf);
	slurp("/proc/self/loginuid");
	printf("loginuid: %s\n", buf);
	int cg = slurp("/proc/self/cgroup");
	printf("cgroup: %d bytes\n", cg);

	/* A child's, read by its parent: it set its own score and waits. */
	struct held h;
	c = hold_fork(&h);
	if (c < 0)
		return 1;
	if (c == 0) {
		int fd = open("/proc/self/oom_score_adj", O_WRONLY);
		write(fd, "321", 3);
		close(fd);
		hold_here(&h);
	}
	char cp[64];
	snprintf(cp, sizeof cp, "/proc/%d/oom_score_adj", c);
	printf("a child's oom_score_adj: %ld\n", num(cp));
	put(cp, "654\n"); /* as a supervisor (choom -p) sets it */
	snprintf(cp, sizeof cp, "/proc/%d/oom_adj", c);
	put(cp, "-17");
	snprintf(cp, sizeof cp, "/proc/%d/coredump_filter", c);
	put(cp, "0x21");
	snprintf(cp, sizeof cp, "/proc/%d/timerslack_ns", c);
	put(cp, "4242");
	snprintf(cp, sizeof cp, "/proc/%d/io", c);
	slurp(cp);
	expect("a child's io", strstr(buf, "syscw:") != NULL);
	snprintf(cp, sizeof cp, "/proc/%d/personality", c);
	slurp(cp);
	printf("a child's personality: %s", buf);
	hold_release(&h);

	int want = 0;
	DIR *d = opendir("/proc/self");
	for (struct dirent *e; d && (e = readdir(d));)
		want += !strcmp(e->d_name, "oom_score_adj") + !strcmp(e->d_name, "io") + !strcmp(e->d_name, "timerslack_ns");
	expect("listed", want == 3);
	return failures != 0;
}
