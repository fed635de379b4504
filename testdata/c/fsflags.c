/* fsflags: the file attribute ioctls chattr and lsattr use (FS_IOC_GETFLAGS,
 * FS_IOC_SETFLAGS, FS_IOC_GETVERSION, FS_IOC_FSGETXATTR, FS_IOC_FSSETXATTR) on a file
 * and a directory, as the host's file system answers them; a pipe does not know them
 * (ENOTTY), nor do /proc files, and a bad pointer is EFAULT. Run with a directory "work" to create in. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "check.h"

/* From linux/fs.h, which musl's headers lack. */
#define FS_IOC_GETFLAGS _IOR('f', 1, long)
#define FS_IOC_SETFLAGS _IOW('f', 2, long)
#define FS_IOC_GETVERSION _IOR('v', 1, long)
#define FS_NODUMP_FL 0x00000040
struct fsxattr {
	unsigned int fsx_xflags, fsx_extsize, fsx_nextents, fsx_projid, fsx_cowextsize;
	unsigned char fsx_pad[8];
};
#define FS_IOC_FSGETXATTR _IOR('X', 31, struct fsxattr)
#define FS_IOC_FSSETXATTR _IOW('X', 32, struct fsxattr)

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	char path[4096];
	snprintf(path, sizeof path, "%s/f", argv[1]);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	int dfd = open(argv[1], O_RDONLY | O_DIRECTORY);
	if (fd < 0 || dfd < 0)
		return 2;
	int flags = -1, dflags = -1;
	long r = ioctl(fd, FS_IOC_GETFLAGS, &flags);
	printf("GETFLAGS on a file: %ld (flags %#x)\n", r, r == 0 ? flags : 0);
	r = ioctl(dfd, FS_IOC_GETFLAGS, &dflags);
	printf("GETFLAGS on a directory: %ld (flags %#x)\n", r, r == 0 ? dflags : 0);
	if (flags != -1) {
		int set = flags | FS_NODUMP_FL, got = 0;
		r = ioctl(fd, FS_IOC_SETFLAGS, &set);
		printf("SETFLAGS nodump: %ld\n", r);
		ioctl(fd, FS_IOC_GETFLAGS, &got);
		printf("nodump set: %d\n", (got & FS_NODUMP_FL) != 0);
		set = flags;
		ioctl(fd, FS_IOC_SETFLAGS, &set);
		ioctl(fd, FS_IOC_GETFLAGS, &got);
		printf("nodump cleared: %d\n", (got & FS_NODUMP_FL) == 0);
	}
	int version;
	r = ioctl(fd, FS_IOC_GETVERSION, &version);
	printf("GETVERSION: %s\n", r == 0 ? "0" : errname(errno));
	struct fsxattr fa;
	memset(&fa, 0, sizeof fa);
	r = ioctl(fd, FS_IOC_FSGETXATTR, &fa);
	printf("FSGETXATTR: %ld (xflags %#x, extsize %u, projid %u)\n", r, fa.fsx_xflags, fa.fsx_extsize, fa.fsx_projid);
	if (r == 0) {
		r = ioctl(fd, FS_IOC_FSSETXATTR, &fa);
		printf("FSSETXATTR unchanged: %s\n", r == 0 ? "0" : errname(errno));
	}
	int p[2];
	pipe(p);
	expect_err("GETFLAGS on a pipe", ioctl(p[0], FS_IOC_GETFLAGS, &flags), ENOTTY);
	expect_err("GETFLAGS to a bad pointer", ioctl(fd, FS_IOC_GETFLAGS, (void *)8), EFAULT);
	expect_err("SETFLAGS from a bad pointer", ioctl(fd, FS_IOC_SETFLAGS, (void *)8), EFAULT);
	expect_err("GETFLAGS on a closed descriptor", ioctl(99, FS_IOC_GETFLAGS, &flags), EBADF);
	int pfd = open("/proc/self/status", O_RDONLY);
	expect_err("GETFLAGS on a /proc file", ioctl(pfd, FS_IOC_GETFLAGS, &flags), ENOTTY);
	pfd = open("/proc/cpuinfo", O_RDONLY);
	expect_err("GETFLAGS on /proc/cpuinfo", ioctl(pfd, FS_IOC_GETFLAGS, &flags), ENOTTY);
	return failures != 0;
}
