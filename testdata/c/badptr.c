/* badptr passes bad pointers and bad numbers to raw system calls and prints the errno names. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "errnames.h"

static int failures;

static void want(const char *what, long r, int expected)
{
	int e = errno;
	const char *got = r < 0 ? errname(e) : "OK";
	printf("%s: %s\n", what, got);
	if (r >= 0 || e != expected)
		failures++;
}

/*
 * Unknown system call numbers. They are a separate mode because sandboxes around a host kernel
 * (seccomp filters) often answer them with EPERM or a signal instead of ENOSYS.
 */
static void numbers(void)
{
	errno = 0;
	want("syscall 1000", syscall(1000), ENOSYS);
	errno = 0;
	want("syscall 400", syscall(400), ENOSYS);
	errno = 0;
	want("syscall 100000", syscall(100000), ENOSYS);
	errno = 0;
	want("syscall -1", syscall(-1), ENOSYS);
}

int main(int argc, char **argv)
{
	int do_pointers = argc < 2 || strcmp(argv[1], "numbers") != 0;
	int do_numbers = argc < 2 || strcmp(argv[1], "pointers") != 0;
	if (!do_pointers) {
		numbers();
		goto done;
	}
	/* Print once first so that stdio's buffer exists before the layout below is made. */
	printf("badptr\n");
	/*
	 * One reservation of four pages, so that no later mapping can land in the hole:
	 * page 0 read-only, page 1 read-write, page 2 unmapped, page 3 read-write.
	 */
	char *region = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED) {
		printf("mmap failed\n");
		return 2;
	}
	char *ro = region;
	char *two = region + 4096;
	char *hole = region + 2 * 4096;
	mprotect(ro, 4096, PROT_READ);
	munmap(hole, 4096);
	int p[2];
	pipe(p);

	errno = 0;
	want("write(1, 1, 5)", syscall(SYS_write, 1, (void *)1, 5), EFAULT);
	errno = 0;
	want("write(pipe, 1, 5)", syscall(SYS_write, p[1], (void *)1, 5), EFAULT);
	errno = 0;
	want("write(pipe, straddling the hole, 8)", syscall(SYS_write, p[1], hole - 4, 8), EFAULT);
	errno = 0;
	want("write(1, unmapped, 5)", syscall(SYS_write, 1, hole, 5), EFAULT);
	errno = 0;
	want("write(1, kernel address, 5)", syscall(SYS_write, 1, (void *)0xffff800000000000UL, 5), EFAULT);
	errno = 0;
	want("write(1, non-canonical, 5)", syscall(SYS_write, 1, (void *)0x0000800000000000UL, 5), EFAULT);

	write(p[1], "abcdefgh", 8);
	errno = 0;
	want("read(pipe, unmapped, 8)", syscall(SYS_read, p[0], hole, 8), EFAULT);
	errno = 0;
	want("read(pipe, read-only page, 8)", syscall(SYS_read, p[0], ro, 8), EFAULT);
	errno = 0;
	want("read(pipe, NULL, 8)", syscall(SYS_read, p[0], NULL, 8), EFAULT);

	errno = 0;
	want("stat(bad path)", syscall(SYS_stat, (void *)1, hole), EFAULT);
	errno = 0;
	want("stat(path, bad buf)", syscall(SYS_stat, "/", (void *)8), EFAULT);
	errno = 0;
	want("open(bad path)", syscall(SYS_open, hole, O_RDONLY), EFAULT);
	memset(two, 'a', 4096);
	errno = 0;
	want("openat(3 bytes then the hole)", syscall(SYS_openat, AT_FDCWD, two + 4096 - 3, O_RDONLY), EFAULT);
	errno = 0;
	want("openat(4096 bytes without NUL)", syscall(SYS_openat, AT_FDCWD, two, O_RDONLY), ENAMETOOLONG);
	errno = 0;
	want("openat(4000 bytes then the hole)", syscall(SYS_openat, AT_FDCWD, two + 96, O_RDONLY), EFAULT);

	errno = 0;
	want("clock_gettime(0, 8)", syscall(SYS_clock_gettime, 0, (void *)8), EFAULT);
	errno = 0;
	want("clock_gettime(MONOTONIC, read-only)", syscall(SYS_clock_gettime, 1, ro), EFAULT);
	errno = 0;
	want("gettimeofday(bad)", syscall(SYS_gettimeofday, (void *)8, NULL), EFAULT);
	errno = 0;
	want("uname(bad)", syscall(SYS_uname, (void *)8), EFAULT);
	errno = 0;
	want("pipe(bad)", syscall(SYS_pipe, hole), EFAULT);
	errno = 0;
	want("getcwd(bad, 100)", syscall(SYS_getcwd, hole, 100), EFAULT);
	errno = 0;
	want("readlink(path, bad, 100)", syscall(SYS_readlink, "/proc/self/exe", hole, 100), EFAULT);
	errno = 0;
	want("nanosleep(bad)", syscall(SYS_nanosleep, hole, NULL), EFAULT);
	errno = 0;
	want("fstat(0, bad)", syscall(SYS_fstat, 0, (void *)8), EFAULT);

	if (do_numbers)
		numbers();

done:
	/* after all that, the process still works */
	printf("still alive\n");
	printf("failures: %d\n", failures);
	return failures ? 1 : 0;
}
