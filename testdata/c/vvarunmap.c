/* vvarunmap unmaps the [vvar] pages and the [vdso], as Linux lets a process do, maps new
 * memory in their place, and checks that nothing writes it behind the program's back, that
 * time still comes from the system calls, and that fork works after it. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

struct range {
	uintptr_t start, end;
};

/* find fills r with the union of the maps lines whose name starts with prefix. */
static int find(const char *prefix, struct range *r)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int found = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long a, b;
		char *name = strchr(line, '[');
		if (!name || strncmp(name, prefix, strlen(prefix)) != 0)
			continue;
		if (sscanf(line, "%lx-%lx", &a, &b) != 2)
			continue;
		if (!found || a < r->start)
			r->start = a;
		if (!found || b > r->end)
			r->end = b;
		found = 1;
	}
	fclose(f);
	return found;
}

static long long now_ns(void)
{
	struct timespec ts;
	if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) != 0)
		return -1;
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int all_equal(const unsigned char *p, size_t n, unsigned char c)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

/* replace maps fresh anonymous memory over r and checks that it stays as written while
 * time passes (a timekeeper still writing the old page would change it). */
static void replace(const char *what, struct range r)
{
	char name[64];
	size_t n = r.end - r.start;
	unsigned char *p = mmap((void *)r.start, n, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	snprintf(name, sizeof name, "%s: mapped over", what);
	expect(name, p == (void *)r.start);
	if (p != (void *)r.start)
		return;
	snprintf(name, sizeof name, "%s: new page reads zero", what);
	expect(name, all_equal(p, n, 0));
	struct timespec pause = {0, 30 * 1000 * 1000};
	nanosleep(&pause, NULL);
	snprintf(name, sizeof name, "%s: still zero after a while", what);
	expect(name, all_equal(p, n, 0));
	memset(p, 0xa5, n);
	nanosleep(&pause, NULL);
	snprintf(name, sizeof name, "%s: keeps what was written", what);
	expect(name, all_equal(p, n, 0xa5));
}

static void fork_and_time(const char *what)
{
	char name[64];
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		long long a = now_ns();
		struct timespec pause = {0, 5 * 1000 * 1000};
		nanosleep(&pause, NULL);
		long long b = now_ns();
		_exit(a > 0 && b > a ? 0 : 1);
	}
	int st = -1;
	waitpid(pid, &st, 0);
	snprintf(name, sizeof name, "%s: fork, child's time goes on", what);
	expect(name, pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
	struct range vvar, vdso;
	setvbuf(stdout, NULL, _IOLBF, 0);
	expect("vvar found", find("[vvar", &vvar));
	expect("vdso found", find("[vdso]", &vdso));

	long long t0 = now_ns();
	expect("unmap vvar", munmap((void *)vvar.start, vvar.end - vvar.start) == 0);
	struct range again;
	expect("vvar gone from maps", !find("[vvar", &again));
	/* Let time pass with nothing there: a timekeeper still writing the page would fault. */
	struct timespec pause = {0, 30 * 1000 * 1000};
	nanosleep(&pause, NULL);
	long long t1 = now_ns();
	expect("time from the system call", t0 > 0 && t1 >= t0);
	replace("vvar", vvar);
	fork_and_time("vvar");

	expect("unmap vdso", munmap((void *)vdso.start, vdso.end - vdso.start) == 0);
	expect("vdso gone from maps", !find("[vdso]", &again));
	replace("vdso", vdso);
	fork_and_time("vdso");

	long long t2 = now_ns();
	expect("time still goes on", t2 > t1);
	return failures != 0;
}
