/* quotactl checks quotactl(2) and quotactl_fd(2) in the order Linux checks them: the
 * quota type first (EINVAL), then, with no device, Q_SYNC succeeds (it syncs every file
 * system's quotas) and any other command is ENODEV; then the device's name is copied
 * and looked up (EFAULT, ENOENT, ENOTDIR, ENOTBLK for a file that is no block device).
 * quotactl_fd checks the descriptor (EBADF), then the type. Only the answers that do not
 * depend on the machine's file systems are printed. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/quota.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

#ifndef PRJQUOTA
#define PRJQUOTA 2
#endif
#ifndef SYS_quotactl_fd
#define SYS_quotactl_fd 443
#endif

static long quota(int cmd, const char *special, int id, void *addr)
{
	return syscall(SYS_quotactl, cmd, special, id, addr);
}

static long quota_fd(int fd, int cmd, int id, void *addr)
{
	return syscall(SYS_quotactl_fd, fd, cmd, id, addr);
}

int main(void)
{
	struct dqblk dq;
	char longname[5000];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	int fd = open("/", O_RDONLY | O_DIRECTORY);
	int opath = open("/", O_PATH);

	/* The type comes first, before the device. */
	expect_err("quotactl: type 3 with no device", quota(QCMD(Q_GETQUOTA, 3), NULL, 0, &dq), EINVAL);
	expect_err("quotactl: type 255 with a bad device pointer",
		   quota(QCMD(Q_SYNC, 255), (char *)8, 0, NULL), EINVAL);
	/* No device: Q_SYNC syncs all, anything else needs one. */
	long r = quota(QCMD(Q_SYNC, USRQUOTA), NULL, 0, NULL);
	printf("quotactl: Q_SYNC of user quotas with no device: %s\n", r == 0 ? "0" : errname(errno));
	failures += r != 0;
	r = quota(QCMD(Q_SYNC, PRJQUOTA), NULL, 0, NULL);
	printf("quotactl: Q_SYNC of project quotas with no device: %s\n", r == 0 ? "0" : errname(errno));
	failures += r != 0;
	expect_err("quotactl: Q_GETQUOTA with no device", quota(QCMD(Q_GETQUOTA, USRQUOTA), NULL, 0, &dq), ENODEV);
	expect_err("quotactl: Q_QUOTAON with no device", quota(QCMD(Q_QUOTAON, USRQUOTA), NULL, QFMT_VFS_V1, "/x"), ENODEV);
	expect_err("quotactl: an unknown command with no device", quota(QCMD(0x77, USRQUOTA), NULL, 0, NULL), ENODEV);
	/* The device's name. */
	expect_err("quotactl: a device name at a bad address", quota(QCMD(Q_GETQUOTA, USRQUOTA), (char *)8, 0, &dq), EFAULT);
	expect_err("quotactl: an empty device name", quota(QCMD(Q_GETQUOTA, USRQUOTA), "", 0, &dq), ENOENT);
	expect_err("quotactl: a device name longer than PATH_MAX", quota(QCMD(Q_GETQUOTA, USRQUOTA), longname, 0, &dq), ENAMETOOLONG);
	expect_err("quotactl: a device that does not exist", quota(QCMD(Q_GETQUOTA, USRQUOTA), "/no/such/device", 0, &dq), ENOENT);
	expect_err("quotactl: a device under a file", quota(QCMD(Q_GETQUOTA, USRQUOTA), "/proc/self/exe/x", 0, &dq), ENOTDIR);
	expect_err("quotactl: a directory as the device", quota(QCMD(Q_GETQUOTA, USRQUOTA), "/", 0, &dq), ENOTBLK);
	expect_err("quotactl: a character device as the device", quota(QCMD(Q_SYNC, USRQUOTA), "/dev/null", 0, NULL), ENOTBLK);
	/* quotactl_fd: the descriptor, then the type. */
	expect_err("quotactl_fd: type 3 on a bad descriptor", quota_fd(-1, QCMD(Q_GETQUOTA, 3), 0, &dq), EBADF);
	expect_err("quotactl_fd: type 3 on a directory", quota_fd(fd, QCMD(Q_GETQUOTA, 3), 0, &dq), EINVAL);
	expect_err("quotactl_fd: type 3 on an O_PATH descriptor", quota_fd(opath, QCMD(Q_SYNC, 3), 0, NULL), EINVAL);
	expect_err("quotactl_fd: a bad descriptor", quota_fd(-1, QCMD(Q_GETQUOTA, USRQUOTA), 0, &dq), EBADF);
	expect_err("quotactl_fd: a closed descriptor", quota_fd(1000, QCMD(Q_SYNC, USRQUOTA), 0, NULL), EBADF);
	close(fd);
	close(opath);
	return failures != 0;
}
