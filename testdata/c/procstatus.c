/* procstatus reads the memory, time and layout numbers of /proc/self/{status,stat,statm}
 * and of a child's, as ps, top and programs that watch their own memory read them:
 * resident memory following what was touched (anonymous, shared, file), the mappings by
 * kind, where code, data, arguments and the stack are, CPU ticks, the exit signal, the
 * descriptor table's size, and the order of status's lines. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "held.h"
#define SLURP_SIZE 16384
#include "slurp.h"

#define MiB (1024 * 1024)

extern char **environ;
int initialized = 42; /* in the data segment */


/* kb is the value of a status line of pid (0: self), in kB; -1 if absent. */
static long kb(int pid, const char *key)
{
	char path[64];
	if (pid)
		snprintf(path, sizeof path, "/proc/%d/status", pid);
	else
		strcpy(path, "/proc/self/status");
	if (slurp(path) < 0)
		return -1;
	char want[64];
	snprintf(want, sizeof want, "\n%s:", key);
	char *p = strstr(buf, want);
	return p ? strtol(p + strlen(want), NULL, 10) : -1;
}

/* statfield is field n (1-based) of pid's stat (0: self). */
static unsigned long long statfield(int pid, int n)
{
	char path[64];
	if (pid)
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
	else
		strcpy(path, "/proc/self/stat");
	if (slurp(path) < 0)
		return 0;
	char *p = strrchr(buf, ')'); /* after the name: field 3 on */
	int f = 2;
	while (p && f < n) {
		p = strchr(p + 1, ' ');
		f++;
	}
	return p ? strtoull(p + 1, NULL, 10) : 0;
}

/* statm reads pid's statm (0: self) into v[7]. */
static void statm(int pid, unsigned long v[7])
{
	char path[64];
	if (pid)
		snprintf(path, sizeof path, "/proc/%d/statm", pid);
	else
		strcpy(path, "/proc/self/statm");
	memset(v, 0, 7 * sizeof v[0]);
	if (slurp(path) > 0)
		sscanf(buf, "%lu %lu %lu %lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]);
}

static void touch(char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 4096)
		p[i] = 1;
}

static void keys(void)
{
	/* The keys of status in order, one line, without the values. */
	slurp("/proc/self/status");
	char out[4096] = "";
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *c = strchr(line, ':');
		if (c) {
			*c = 0;
			strcat(out, line);
			strcat(out, " ");
		}
	}
	printf("status keys: %s\n", out);
}

int main(int argc, char **argv)
{
	(void)argc;
	keys();
	printf("NSpid is the pid: %s\n", kb(0, "NSpid") == getpid() ? "yes" : "NO");

	/* Anonymous memory: resident once touched, not before. */
	long rss0 = kb(0, "VmRSS"), data0 = kb(0, "VmData"), size0 = kb(0, "VmSize");
	char *a = mmap(NULL, 64 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long rss1 = kb(0, "VmRSS");
	expect("an untouched mapping counts in VmSize", kb(0, "VmSize") - size0 >= 64 * 1024);
	expect("an untouched private mapping counts in VmData", kb(0, "VmData") - data0 >= 64 * 1024);
	expect("an untouched mapping is not resident", rss1 - rss0 < 8 * 1024);
	touch(a, 64 * MiB);
	long rss2 = kb(0, "VmRSS"), anon2 = kb(0, "RssAnon");
	expect("touched anonymous memory is resident", rss2 - rss1 >= 56 * 1024);
	expect("and counts as RssAnon", anon2 >= 56 * 1024);
	unsigned long m[7];
	statm(0, m);
	expect("statm's resident is VmRSS", m[1] * 4 >= (unsigned long)rss2 - 64 && m[1] * 4 <= (unsigned long)rss2 + 64);
	expect("statm's size is VmSize", m[0] * 4 == (unsigned long)kb(0, "VmSize"));
	/* Linux counts resident pages per CPU and sums them apart for each file. */
	expect("stat's rss is near statm's", statfield(0, 24) + 512 >= m[1] && statfield(0, 24) <= m[1] + 512);
	expect("stat's vsize is statm's size", statfield(0, 23) == m[0] * 4096);
	munmap(a, 64 * MiB);
	expect("unmapped memory leaves VmRSS", kb(0, "VmRSS") < rss2 - 56 * 1024);
	expect("VmHWM keeps the peak", kb(0, "VmHWM") >= rss2 - 2048);
	expect("VmPeak keeps the peak", kb(0, "VmPeak") >= size0 + 64 * 1024);

	/* Shared anonymous memory is RssShmem. */
	long shm0 = kb(0, "RssShmem");
	char *s = mmap(NULL, 16 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	touch(s, 16 * MiB);
	expect("touched shared memory is RssShmem", kb(0, "RssShmem") - shm0 >= 14 * 1024);
	expect("and is not VmData", kb(0, "VmData") < data0 + 8 * 1024);
	munmap(s, 16 * MiB);

	/* A file read through a mapping is RssFile. */
	char path[] = "/tmp/procstatusXXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	if (fd < 0 || ftruncate(fd, 8 * MiB) < 0)
		return 1;
	long file0 = kb(0, "RssFile");
	char *f = mmap(NULL, 8 * MiB, PROT_READ, MAP_SHARED, fd, 0);
	volatile char sum = 0;
	for (size_t i = 0; i < 8 * MiB; i += 4096)
		sum += f[i];
	expect("a file read through a mapping is RssFile", kb(0, "RssFile") - file0 >= 6 * 1024);
	munmap(f, 8 * MiB);
	close(fd);

	/* Where things are. */
	unsigned long long startcode = statfield(0, 26), endcode = statfield(0, 27);
	expect("main is between startcode and endcode",
	       startcode <= (unsigned long)main && (unsigned long)main < endcode);
	expect("VmExe is the code's size", kb(0, "VmExe") * 1024 >= (long)(endcode - startcode) &&
						   kb(0, "VmExe") * 1024 < (long)(endcode - startcode) + 8192);
	expect("VmLib is there", kb(0, "VmLib") >= 0);
	unsigned long long startdata = statfield(0, 45), enddata = statfield(0, 46);
	expect("initialized data is between start_data and end_data",
	       startdata <= (unsigned long)&initialized && (unsigned long)&initialized < enddata);
	expect("start_stack is where argc was", statfield(0, 28) + 8 == (unsigned long)argv);
	expect("arg_start is argv[0]", statfield(0, 48) == (unsigned long)argv[0]);
	expect("env_start is environ[0]", environ[0] && statfield(0, 50) == (unsigned long)environ[0]);
	expect("VmStk is there", kb(0, "VmStk") > 0);
	expect("VmPTE is there", kb(0, "VmPTE") > 0);
	printf("exit signal: %llu\n", statfield(0, 38));

	/* CPU time shows in ticks. */
	struct timespec ts;
	do {
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	} while (ts.tv_sec == 0 && ts.tv_nsec < 300000000);
	expect("utime+stime count the CPU time", statfield(0, 14) + statfield(0, 15) >= 20);
	expect("voluntary_ctxt_switches is there", kb(0, "voluntary_ctxt_switches") >= 0);

	/* The descriptor table's size. */
	dup2(0, 100);
	printf("FDSize with fd 100: %ld\n", kb(0, "FDSize"));
	dup2(0, 1000);
	printf("FDSize with fd 1000: %ld\n", kb(0, "FDSize"));
	close(100);
	close(1000);

	/* A child's, as ps reads them: it touches 32 MiB and waits. */
	struct held h;
	pid_t c = hold_fork(&h);
	if (c < 0)
		return 1;
	if (c == 0) {
		char *b = mmap(NULL, 32 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		touch(b, 32 * MiB);
		hold_here(&h);
	}
	/* Linux sums its per-CPU counts only now and then: a few hundred pages of slack. */
	expect("a child's VmRSS has what it touched", kb(c, "VmRSS") >= 30 * 1024);
	expect("a child's VmSize too", kb(c, "VmSize") >= 32 * 1024);
	statm(c, m);
	expect("a child's statm resident", m[1] * 4096 >= 30UL * MiB);
	expect("a child's stat rss", statfield(c, 24) * 4096 >= 30UL * MiB);
	printf("a child's exit signal: %llu\n", statfield(c, 38));
	hold_release(&h);
	return failures != 0;
}
