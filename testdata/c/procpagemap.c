/* procpagemap reads /proc/PID/pagemap as Linux's pagemap.rst describes it: an entry of
 * eight bytes per page, at offset page*8, whose flags say which pages are present
 * (touched, read or written), anonymous, a file's or shared, and mapped by this process
 * alone; no frame numbers for a reader without CAP_SYS_ADMIN. And the attacker's reads:
 * unaligned offsets and counts, the end of user space, offsets that overflow, a buffer
 * that faults, a terabyte reservation, another process's pages with and without leave,
 * a process that ends while its file is open. Frame numbers are never printed: root
 * sees them natively. Usage: procpagemap DIR (a directory of its own). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "held.h"

#define PAGE 4096
#define PRESENT (1ull << 63)
#define SWAPPED (1ull << 62)
#define FILEPG (1ull << 61)
#define EXCL (1ull << 56)
#define SOFTDIRTY (1ull << 55)
#define PFN ((1ull << 55) - 1)
#define TASK_SIZE 0x7ffffffff000ull
#define CAP_SYS_ADMIN 21

/* capget's and capset's header and data (version 3: two of them). */
struct cap_hdr {
	uint32_t version;
	int pid;
};
struct cap_data {
	uint32_t effective, permitted, inheritable;
};

static int pm;

static uint64_t entry_of(int fd, const void *a)
{
	uint64_t e = 0;
	if (pread(fd, &e, 8, (uintptr_t)a / PAGE * 8) != 8)
		printf("pread %p: %s\n", a, errname(errno));
	return e;
}

/* flags shows an entry's flags, never its frame number. */
static void flags(const char *what, uint64_t e)
{
	printf("%s:%s%s%s%s%s%s\n", what, e & PRESENT ? " present" : "", e & SWAPPED ? " swapped" : "",
	       e & FILEPG ? " file" : "", e & EXCL ? " exclusive" : "", e & SOFTDIRTY ? " soft-dirty" : "",
	       e & ~(PRESENT | SWAPPED | FILEPG | EXCL | SOFTDIRTY | PFN) ? " other" : "");
}

static void anon(void)
{
	char *m = mmap(0, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	m[0] = 1;
	m[2 * PAGE] = 1;
	volatile char x = m[4 * PAGE];
	(void)x;
	flags("private written", entry_of(pm, m));
	flags("private untouched", entry_of(pm, m + PAGE));
	flags("private written again", entry_of(pm, m + 2 * PAGE));
	/* A page only read maps the zero page natively: present, not exclusive. */
	printf("private read present: %s\n", entry_of(pm, m + 4 * PAGE) & PRESENT ? "yes" : "no");
	munmap(m + 2 * PAGE, PAGE);
	flags("private unmapped", entry_of(pm, m + 2 * PAGE));
	mprotect(m, PAGE, PROT_NONE);
	flags("private written, then PROT_NONE", entry_of(pm, m));

	char *s = mmap(0, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	s[0] = 1;
	flags("shared written", entry_of(pm, s));
	flags("shared untouched", entry_of(pm, s + PAGE));

	/* A larger mapping, every third page written: one read of all its entries. */
	enum { N = 4096 };
	char *big = mmap(0, (size_t)N * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	madvise(big, (size_t)N * PAGE, MADV_NOHUGEPAGE);
	int want = 0;
	for (int i = 0; i < N; i += 3, want++)
		big[(size_t)i * PAGE] = 1;
	static uint64_t ents[N];
	long r = pread(pm, ents, sizeof ents, (uintptr_t)big / PAGE * 8);
	int got = 0, wrong = 0;
	for (int i = 0; i < N; i++) {
		got += !!(ents[i] & PRESENT);
		wrong += !!(ents[i] & PRESENT) != (i % 3 == 0);
	}
	printf("one read of %d entries: %ld bytes, %d present, %d as written, %d wrong\n", N, r, got, want, wrong);
}

static void files(const char *dir)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/pages", dir);
	int f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	static char page[PAGE];
	for (int i = 0; i < 4; i++) {
		memset(page, 'a' + i, sizeof page);
		write(f, page, sizeof page);
	}
	char *p = mmap(0, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, f, 0);
	volatile char x = p[PAGE];
	(void)x;
	p[2 * PAGE] = 'z';
	/* Pages not touched are left out: Linux maps a file's neighbouring pages on a fault. */
	printf("private file read: present %s, file %s\n", entry_of(pm, p + PAGE) & PRESENT ? "yes" : "no",
	       entry_of(pm, p + PAGE) & FILEPG ? "yes" : "no");
	flags("private file written", entry_of(pm, p + 2 * PAGE));

	char *s = mmap(0, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
	x = s[PAGE];
	s[2 * PAGE] = 'y';
	printf("shared file read: present %s, file %s\n", entry_of(pm, s + PAGE) & PRESENT ? "yes" : "no",
	       entry_of(pm, s + PAGE) & FILEPG ? "yes" : "no");
	printf("shared file written: present %s, file %s\n", entry_of(pm, s + 2 * PAGE) & PRESENT ? "yes" : "no",
	       entry_of(pm, s + 2 * PAGE) & FILEPG ? "yes" : "no");
	close(f);
	unlink(path);
}

static void reads(void)
{
	uint64_t b[4];
	struct stat st;
	stat("/proc/self/pagemap", &st);
	printf("mode: %o\n", st.st_mode & 07777);
	expect_err("unaligned offset", pread(pm, b, 8, 4), EINVAL);
	expect_err("unaligned count", pread(pm, b, 7, 0), EINVAL);
	expect_err("count not a multiple of 8", pread(pm, b, 12, 0), EINVAL);
	printf("count 0: %ld\n", (long)pread(pm, b, 0, 0));
	printf("across the end of user space: %ld\n", (long)pread(pm, b, 32, (TASK_SIZE / PAGE - 2) * 8));
	printf("at the end of user space: %ld\n", (long)pread(pm, b, 32, TASK_SIZE / PAGE * 8));
	printf("far past it: %ld\n", (long)pread(pm, b, 32, 1ll << 60));
	expect_err("an offset whose end overflows", pread(pm, b, 32, 0x7ffffffffffffff8ll), EINVAL);
	expect_err("a negative offset", pread(pm, b, 8, -8), EINVAL);
	expect_err("SEEK_END", lseek(pm, 0, SEEK_END), EINVAL);
	printf("lseek: %lld\n", (long long)lseek(pm, 0x1000, SEEK_SET));
	long r = read(pm, b, 16);
	printf("read 16: %ld, then at %lld\n", r, (long long)lseek(pm, 0, SEEK_CUR));
	printf("lseek back 8: %lld\n", (long long)lseek(pm, -8, SEEK_CUR));
	errno = 0;
	long long neg = syscall(SYS_lseek, pm, -16ll, SEEK_SET);
	printf("lseek to -16: %lld (%s: the position, as the kernel returned it)\n", neg, errname(errno));
	expect_err("read there", read(pm, b, 8), EINVAL);
	lseek(pm, 0, SEEK_SET);
	expect_err("a buffer that faults", syscall(SYS_pread64, pm, (void *)8, 8, 0), EFAULT);
	char *two = mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(two + PAGE, PAGE);
	expect_err("a buffer that runs into a hole", pread(pm, two + PAGE - 8, 16, 0), EFAULT);
	/* Two buffers: the entries of two pages, one after the other. */
	uint64_t e1 = 0, e2 = 0;
	struct iovec iov[2] = {{&e1, 8}, {&e2, 8}};
	two[0] = 1;
	r = preadv(pm, iov, 2, (uintptr_t)two / PAGE * 8 - 8);
	printf("preadv: %ld, second present %s\n", r, e2 & PRESENT ? "yes" : "no");
	expect_err("write", write(pm, b, 8), EBADF);
	int w = open("/proc/self/pagemap", O_RDWR);
	if (w >= 0) {
		expect_err("write, opened for writing", write(w, b, 8), EINVAL);
		close(w);
	} else {
		printf("write, opened for writing: %s\n", errname(errno));
	}

	/* A terabyte reserved: what a read costs follows what it reads, not the size. */
	size_t tb = 1ull << 40;
	char *res = mmap(0, tb, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED) {
		printf("terabyte: %s\n", errname(errno));
		return;
	}
	char *last = res + tb - PAGE;
	mprotect(last, PAGE, PROT_READ | PROT_WRITE);
	*last = 1;
	int present = 0;
	for (int i = 0; i < 64; i++) {
		uint64_t e[512];
		pread(pm, e, sizeof e, ((uintptr_t)res + (uint64_t)i * (tb / 64)) / PAGE * 8);
		for (int j = 0; j < 512; j++)
			present += !!(e[j] & PRESENT);
	}
	printf("terabyte, 64 windows: %d present\n", present);
	flags("terabyte, its last page written", entry_of(pm, last));
	/* Left mapped: vemu unmaps a vast range slowly (see the README). */
}

/* nopfn drops CAP_SYS_ADMIN and says whether a present page's frame number is hidden. */
static void nopfn(void)
{
	pid_t c = fork();
	if (c == 0) {
		struct cap_hdr h = {0x20080522, 0};
		struct cap_data d[2];
		syscall(SYS_capget, &h, d);
		d[CAP_SYS_ADMIN / 32].effective &= ~(1u << (CAP_SYS_ADMIN % 32));
		syscall(SYS_capset, &h, d);
		int fd = open("/proc/self/pagemap", O_RDONLY);
		static char here = 1;
		here++;
		uint64_t e = entry_of(fd, &here);
		printf("without CAP_SYS_ADMIN: present %s, frame number hidden %s\n", e & PRESENT ? "yes" : "no",
		       e & PFN ? "no" : "yes");
		_exit(0);
	}
	waitpid(c, 0, 0);
}

/* peers reads a child's pages, and the child another's without leave. */
static void peers(void)
{
	char *m = mmap(0, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct held h;
	pid_t c = hold_fork(&h);
	if (c == 0) {
		m[PAGE] = 1;
		m[3 * PAGE] = 1;
		hold_here(&h); /* until killed */
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/pagemap", c);
	int fd = open(path, O_RDONLY);
	uint64_t e[4] = {0};
	long r = pread(fd, e, sizeof e, (uintptr_t)m / PAGE * 8);
	printf("child's pages: %ld bytes,", r);
	for (int i = 0; i < 4; i++)
		printf(" %s", e[i] & PRESENT ? "present" : "absent");
	printf("\n");
	kill(c, SIGKILL);
	char stat[512];
	snprintf(path, sizeof path, "/proc/%d/stat", c);
	for (int i = 0; i < 1000; i++) { /* until it is a zombie */
		int sf = open(path, O_RDONLY);
		int n = read(sf, stat, sizeof stat - 1);
		close(sf);
		stat[n > 0 ? n : 0] = 0;
		if (strstr(stat, ") Z "))
			break;
		usleep(10000);
	}
	snprintf(path, sizeof path, "/proc/%d/pagemap", c);
	printf("a zombie's: %ld\n", (long)pread(fd, e, 8, 0));
	waitpid(c, 0, 0);
	printf("a reaped one's: %ld\n", (long)pread(fd, e, 8, 0));
	close(fd);
	expect_err("a reaped one's, opened", open(path, O_RDONLY), ENOENT);

	/* Children that end while their pages are read: entries, or nothing; never an error. */
	int errs = 0;
	for (int i = 0; i < 20; i++) {
		pid_t k = fork();
		if (k == 0) {
			m[i % 4 * PAGE] = 1;
			_exit(0);
		}
		snprintf(path, sizeof path, "/proc/%d/pagemap", k);
		int f = open(path, O_RDONLY);
		static uint64_t many[65536];
		for (int j = 0; f >= 0 && j < 4; j++)
			if (pread(f, many, sizeof many, (uintptr_t)m / PAGE * 8 - j * sizeof many) < 0)
				errs++;
		close(f);
		waitpid(k, 0, 0);
	}
	printf("children ending while read: %d errors\n", errs);

	if (geteuid() != 0) {
		printf("another uid: skipped\n");
		return;
	}
	int parent = getpid();
	c = fork();
	if (c == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(1);
		snprintf(path, sizeof path, "/proc/%d/pagemap", parent);
		expect_err("another uid's", open(path, O_RDONLY), EACCES);
		int fd = open("/proc/self/pagemap", O_RDONLY);
		printf("its own, as nobody: %s\n", fd >= 0 ? "opened" : errname(errno));
		_exit(failures);
	}
	int st;
	waitpid(c, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		failures++;
}

/* afterexec reads, in the program exec'd, the pagemap its caller opened before: that of an
 * address space gone. */
static int afterexec(int fd, int mem)
{
	uint64_t e[4];
	static char here = 1;
	here++;
	printf("opened before exec, read after: %ld\n", (long)pread(fd, e, sizeof e, (uintptr_t)&here / PAGE * 8));
	/* Its mem, too: nothing of the new program's memory. */
	printf("mem opened before exec, read after: %ld\n", (long)pread(mem, e, 1, (uintptr_t)&here));
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 3 && !strcmp(argv[1], "--after-exec"))
		return afterexec(atoi(argv[2]), atoi(argv[3]));
	pm = open("/proc/self/pagemap", O_RDONLY);
	if (pm < 0) {
		printf("open: %s\n", errname(errno));
		return 1;
	}
	anon();
	files(argc > 1 ? argv[1] : ".");
	reads();
	nopfn();
	peers();
	char *m;
	pid_t c = fork();
	if (c == 0) {
		/* The parent's, inherited: the parent's pages, which the child has not. */
		static uint64_t e[64];
		m = mmap(0, 64 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		m[0] = 1;
		long r = pread(pm, e, sizeof e, (uintptr_t)m / PAGE * 8);
		printf("a child reads its parent's pagemap: %ld bytes, the child's page %s\n", r,
		       e[0] & PRESENT ? "present" : "absent");
		/* Its own, opened here, read after its exec. */
		char fd[16], mem[16];
		snprintf(fd, sizeof fd, "%d", open("/proc/self/pagemap", O_RDONLY));
		snprintf(mem, sizeof mem, "%d", open("/proc/self/mem", O_RDONLY));
		execl("/proc/self/exe", argv[0], "--after-exec", fd, mem, (char *)0);
		_exit(127);
	}
	int st;
	waitpid(c, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		failures++;
	return failures != 0;
}
