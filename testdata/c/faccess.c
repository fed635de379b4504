/* faccess checks faccessat and faccessat2 as Linux answers them: the mode and flags
 * checked before the path, AT_SYMLINK_NOFOLLOW on a dangling link, AT_EMPTY_PATH on a
 * descriptor, AT_EACCESS, and the flags plain faccessat ignores. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

static void expect_ok(const char *what, long r)
{
	printf("%s: %s\n", what, r < 0 ? errname(errno) : "success");
	if (r < 0)
		failures++;
}

int main(void)
{
	char link[64];
	snprintf(link, sizeof link, "/tmp/faccess.%d", getpid());
	if (symlink("/nonexistent/x", link))
		return 2;
	int fd = open("/proc/self/exe", O_RDONLY);
	expect_ok("NOFOLLOW on a dangling link", syscall(SYS_faccessat2, AT_FDCWD, link, F_OK, AT_SYMLINK_NOFOLLOW));
	expect_err("following it", syscall(SYS_faccessat2, AT_FDCWD, link, F_OK, 0), ENOENT);
	expect_err("an unknown flag", syscall(SYS_faccessat2, AT_FDCWD, link, F_OK, 0x8000), EINVAL);
	expect_err("an unknown flag before a bad path", syscall(SYS_faccessat2, AT_FDCWD, (char *)8, F_OK, 0x8000), EINVAL);
	expect_err("a bad mode before a bad path", syscall(SYS_faccessat2, AT_FDCWD, (char *)8, 8, 0), EINVAL);
	expect_err("a bad path", syscall(SYS_faccessat2, AT_FDCWD, (char *)8, F_OK, 0), EFAULT);
	expect_ok("AT_EMPTY_PATH on a descriptor", syscall(SYS_faccessat2, fd, "", R_OK, AT_EMPTY_PATH));
	expect_err("an empty path without it", syscall(SYS_faccessat2, fd, "", R_OK, 0), ENOENT);
	expect_ok("AT_EACCESS", syscall(SYS_faccessat2, AT_FDCWD, "/proc/self/exe", R_OK, AT_EACCESS));
	expect_ok("faccessat ignores flags", syscall(SYS_faccessat, AT_FDCWD, "/proc/self/exe", R_OK, 0x8000));
	expect_ok("the libc's faccessat with AT_EACCESS", faccessat(AT_FDCWD, "/proc/self/exe", R_OK, AT_EACCESS));
	unlink(link);
	return failures;
}
