/* procsmaps reads /proc/self/smaps and smaps_rollup as pmap and memory profilers read
 * them: an entry per line of maps with the same header, the pages held by kind
 * (anonymous, shared, a file's, a private file mapping's copied pages), locked pages,
 * VmFlags, the rollup's sums, and a child's rollup read by its parent. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "held.h"
#define SLURP_SIZE (1 << 20)
#include "slurp.h"

#define MiB (1024 * 1024)


/* field is the value of key in the smaps entry of the mapping at addr, in kB (or the
 * VmFlags text into flags); -1 when absent. */
static long field(void *addr, const char *key, char *flags)
{
	slurp("/proc/self/smaps");
	char head[32];
	snprintf(head, sizeof head, "%lx-", (unsigned long)addr);
	char *e = strstr(buf, head);
	if (!e || (e != buf && e[-1] != '\n'))
		return -1;
	char want[64];
	snprintf(want, sizeof want, "\n%s:", key);
	char *p = strstr(e, want);
	char *next = strstr(e, "\nVmFlags:");
	if (!p || !next || p > next + 1)
		return -1;
	p += strlen(want);
	if (flags) {
		while (*p == ' ')
			p++;
		int n = strcspn(p, "\n");
		snprintf(flags, 128, "%.*s", n, p);
		return 0;
	}
	return strtol(p, NULL, 10);
}

static long rollup(int pid, const char *key)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", pid);
	if (slurp(path) < 0)
		return -1;
	char want[64];
	snprintf(want, sizeof want, "\n%s:", key);
	char *p = strstr(buf, want);
	return p ? strtol(p + strlen(want), NULL, 10) : -1;
}

static void flags(const char *what, void *addr)
{
	char f[128] = "";
	field(addr, "VmFlags", f);
	printf("%s VmFlags: %s\n", what, f);
}

int main(void)
{
	char *a = mmap(NULL, 4 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(a, 1, 2 * MiB);
	printf("anonymous: Size %ld, Rss %ld, Anonymous %ld, Private_Dirty %ld, Shared_Dirty %ld\n",
	       field(a, "Size", 0), field(a, "Rss", 0), field(a, "Anonymous", 0), field(a, "Private_Dirty", 0),
	       field(a, "Shared_Dirty", 0));
	flags("anonymous", a);

	char *s = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	memset(s, 1, MiB / 2);
	printf("shared: Rss %ld, Anonymous %ld, Private_Dirty %ld\n", field(s, "Rss", 0), field(s, "Anonymous", 0),
	       field(s, "Private_Dirty", 0));
	flags("shared", s);

	/* maps' lines of the two: the shared one is a deleted /dev/zero on the internal shmem
	 * mount, and a line without a name ends with a space. */
	slurp("/proc/self/maps");
	char head[32];
	for (void *m = a; m; m = m == a ? (void *)s : NULL) {
		snprintf(head, sizeof head, "%lx-", (unsigned long)m);
		char *e = strstr(buf, head);
		if (!e)
			continue;
		unsigned long ino = 0;
		char perm[8], dev[8], name[64] = "";
		int len = strcspn(e, "\n");
		char line[256];
		snprintf(line, sizeof line, "%.*s", len, e);
		sscanf(line, "%*s %7s %*s %7s %lu %63[^\n]", perm, dev, &ino, name);
		printf("maps: %s %s inode %s \"%s\", ends with a space: %s\n", perm, dev, ino ? "set" : "0", name,
		       e[len - 1] == ' ' ? "yes" : "no");
	}

	char *n = mmap(NULL, MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("no access: Rss %ld\n", field(n, "Rss", 0));
	flags("no access", n);

	int x;
	slurp("/proc/self/maps");
	char *nl = strchr(buf, '\n');
	char first[256];
	snprintf(first, sizeof first, "%.*s", (int)(nl - buf), buf);
	slurp("/proc/self/smaps");
	expect("smaps starts with maps' first line", !strncmp(buf, first, strlen(first)));
	unsigned long stack = (unsigned long)&x & ~4095UL;
	/* The stack's entry: the mapping holding &x. */
	slurp("/proc/self/maps");
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		unsigned long lo, hi;
		if (sscanf(l, "%lx-%lx", &lo, &hi) == 2 && lo <= stack && stack < hi) {
			stack = lo;
			break;
		}
	}
	flags("stack", (void *)stack);

	/* A file: read through a private mapping, one page of it written. */
	char path[] = "/tmp/procsmapsXXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	char page[4096];
	memset(page, 7, sizeof page);
	for (int i = 0; i < 4; i++)
		write(fd, page, sizeof page);
	fsync(fd); /* clean pages: vemu cannot tell a file's dirty pages */
	char *f = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	volatile char sum = 0;
	for (int i = 0; i < 4; i++)
		sum += f[i * 4096];
	f[4096] = 1;
	printf("private file: Rss %ld, Private_Clean+Shared_Clean %ld, Anonymous %ld, Private_Dirty %ld\n",
	       field(f, "Rss", 0), field(f, "Private_Clean", 0) + field(f, "Shared_Clean", 0), field(f, "Anonymous", 0),
	       field(f, "Private_Dirty", 0));
	flags("private file", f);

	char *l = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mlock(l, 64 * 1024) == 0)
		printf("locked: Rss %ld, Locked %ld\n", field(l, "Rss", 0), field(l, "Locked", 0));
	flags("locked", l);

	long rss = rollup(getpid(), "Rss"), anon = rollup(getpid(), "Anonymous");
	slurp("/proc/self/status");
	long vmrss = strtol(strstr(buf, "VmRSS:") + 6, NULL, 10);
	expect("rollup's Rss is VmRSS", rss >= vmrss - 512 && rss <= vmrss + 512);
	expect("rollup's Anonymous has the anonymous memory", anon >= 2048);
	slurp("/proc/self/smaps_rollup");
	expect("rollup's header", strstr(buf, "---p 00000000 00:00 0") && strstr(buf, "[rollup]\n"));

	struct held h;
	pid_t c = hold_fork(&h);
	if (c < 0)
		return 1;
	if (c == 0) {
		char *b = mmap(NULL, 8 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		memset(b, 1, 8 * MiB);
		hold_here(&h);
	}
	expect("a child's rollup has what it touched", rollup(c, "Anonymous") >= 8 * 1024);
	hold_release(&h);
	return failures != 0;
}
