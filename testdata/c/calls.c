/* calls checks system calls that programs reach less often against Linux's answers:
 * extended attributes, splice, tee and vmsplice, sendmmsg and recvmmsg, preadv2 and
 * pwritev2, openat2, fchmodat2, cachestat, file handles, unshare, kcmp, membarrier,
 * sched_getattr and sched_setattr, ioprio, sysfs and ustat, and what an unprivileged
 * process is refused (mount, swap, reboot, the clock, the kernel log...). Run it as root:
 * a child drops to uid 1000 for the last part. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <time.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define sys(...) syscall(__VA_ARGS__)

#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static char dir[64];
static char pathbuf[128];

static const char *in(const char *name)
{
	snprintf(pathbuf, sizeof pathbuf, "%s/%s", dir, name);
	return pathbuf;
}

static void xattrs(void)
{
	char file[128], link[128], buf[64];
	strcpy(file, in("x"));
	strcpy(link, in("xlink"));
	int fd = open(file, O_CREAT | O_RDWR, 0644);
	symlink("x", link);
	long r = sys(SYS_setxattr, file, "user.color", "blue", 4, 0);
	if (r < 0 && errno == EOPNOTSUPP) {
		printf("xattr: not supported here\n");
		close(fd);
		return;
	}
	expect("setxattr user.color", r == 0);
	expect_err("setxattr XATTR_CREATE existing", sys(SYS_setxattr, file, "user.color", "red", 3, 1), EEXIST);
	expect_err("setxattr XATTR_REPLACE missing", sys(SYS_setxattr, file, "user.size", "1", 1, 2), ENODATA);
	expect_err("setxattr bad flags", sys(SYS_setxattr, file, "user.a", "1", 1, 4), EINVAL);
	expect_err("setxattr empty name", sys(SYS_setxattr, file, "", "1", 1, 0), ERANGE);
	char longname[300];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	memcpy(longname, "user.", 5);
	expect_err("setxattr long name", sys(SYS_setxattr, file, longname, "1", 1, 0), ERANGE);
	expect("getxattr size query", sys(SYS_getxattr, file, "user.color", NULL, 0) == 4);
	memset(buf, 0, sizeof buf);
	expect("getxattr", sys(SYS_getxattr, file, "user.color", buf, sizeof buf) == 4 && memcmp(buf, "blue", 4) == 0);
	expect_err("getxattr small buffer", sys(SYS_getxattr, file, "user.color", buf, 2), ERANGE);
	expect_err("getxattr missing", sys(SYS_getxattr, file, "user.none", buf, sizeof buf), ENODATA);
	expect("lgetxattr through the link's target? no: the link", sys(SYS_lgetxattr, link, "user.color", buf, sizeof buf) < 0);
	expect("getxattr follows the link", sys(SYS_getxattr, link, "user.color", buf, sizeof buf) == 4);
	expect_err("lsetxattr user.* on a symlink", sys(SYS_lsetxattr, link, "user.color", "x", 1, 0), EPERM);
	expect("fsetxattr", sys(SYS_fsetxattr, fd, "user.shape", "round", 5, 0) == 0);
	expect("fgetxattr", sys(SYS_fgetxattr, fd, "user.shape", buf, sizeof buf) == 5);
	long n = sys(SYS_listxattr, file, buf, sizeof buf);
	int found = 0;
	for (long i = 0; i < n; i += strlen(buf + i) + 1)
		found += strcmp(buf + i, "user.color") == 0 || strcmp(buf + i, "user.shape") == 0;
	expect("listxattr", found == 2);
	expect("flistxattr size", sys(SYS_flistxattr, fd, NULL, 0) == n);
	expect("removexattr", sys(SYS_removexattr, file, "user.color") == 0);
	expect_err("removexattr again", sys(SYS_removexattr, file, "user.color"), ENODATA);
	expect("fremovexattr", sys(SYS_fremovexattr, fd, "user.shape") == 0);
	expect_err("getxattr bad fd", sys(SYS_fgetxattr, 999, "user.a", buf, 1), EBADF);
	expect_err("getxattr bad path", sys(SYS_getxattr, in("nope"), "user.a", buf, 1), ENOENT);
	expect_err("getxattr bad name pointer", sys(SYS_getxattr, file, (char *)8, buf, 1), EFAULT);
	close(fd);
}

static void splices(void)
{
	int p[2], q[2];
	char buf[64];
	pipe(p);
	pipe(q);
	int fd = open(in("s"), O_CREAT | O_RDWR | O_TRUNC, 0644);
	write(fd, "0123456789", 10);
	loff_t off = 2;
	expect("splice file->pipe at offset", sys(SYS_splice, fd, &off, p[1], NULL, 5, 0) == 5 && off == 7);
	expect("tee pipe->pipe", sys(SYS_tee, p[0], q[1], 100, 0) == 5);
	memset(buf, 0, sizeof buf);
	expect("tee left the data", read(p[0], buf, sizeof buf) == 5 && strcmp(buf, "23456") == 0);
	off = 10;
	expect("splice pipe->file", sys(SYS_splice, q[0], NULL, fd, &off, 100, 0) == 5 && off == 15);
	memset(buf, 0, sizeof buf);
	pread(fd, buf, sizeof buf, 0);
	expect("file content", strcmp(buf, "012345678923456") == 0);
	expect_err("splice empty pipe nonblocking", sys(SYS_splice, p[0], NULL, fd, NULL, 10, 2 /* NONBLOCK */), EAGAIN);
	expect_err("splice bad flags", sys(SYS_splice, p[0], NULL, fd, NULL, 10, 0x100), EINVAL);
	expect_err("splice file->file", sys(SYS_splice, fd, NULL, fd, NULL, 10, 0), EINVAL);
	expect_err("splice with offset on a pipe", sys(SYS_splice, p[0], &off, fd, NULL, 10, 0), ESPIPE);
	expect_err("splice bad fd", sys(SYS_splice, 999, NULL, p[1], NULL, 10, 0), EBADF);
	expect_err("tee on a file", sys(SYS_tee, fd, p[1], 10, 0), EINVAL);
	struct iovec iov[2] = {{"ab", 2}, {"cde", 3}};
	expect("vmsplice into a pipe", sys(SYS_vmsplice, p[1], iov, 2, 0) == 5);
	memset(buf, 0, sizeof buf);
	expect("read what vmsplice put", read(p[0], buf, sizeof buf) == 5 && strcmp(buf, "abcde") == 0);
	expect_err("vmsplice on a file", sys(SYS_vmsplice, fd, iov, 2, 0), EBADF);

	/* A blocking splice waits for the writer. */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		usleep(50000);
		write(p[1], "late", 4);
		_exit(0);
	}
	off = 0;
	long r = sys(SYS_splice, p[0], NULL, fd, &off, 100, 0);
	expect("blocking splice waits for data", r == 4);
	waitpid(pid, NULL, 0);

	/* From a socket. */
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	write(sv[1], "sock", 4);
	expect("splice socket->pipe", sys(SYS_splice, sv[0], NULL, p[1], NULL, 100, 0) == 4);
	memset(buf, 0, sizeof buf);
	expect("from the socket", read(p[0], buf, sizeof buf) == 4 && strcmp(buf, "sock") == 0);
	close(sv[0]);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	close(fd);
}

static void mmsgs(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	struct iovec iov[3] = {{"one", 3}, {"three", 5}, {"seven!!", 7}};
	struct mmsghdr m[3];
	memset(m, 0, sizeof m);
	for (int i = 0; i < 3; i++) {
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	expect("sendmmsg", sys(SYS_sendmmsg, sv[0], m, 3, 0) == 3 && m[2].msg_len == 7);
	char b[3][16];
	struct iovec riov[3] = {{b[0], 16}, {b[1], 16}, {b[2], 16}};
	memset(m, 0, sizeof m);
	for (int i = 0; i < 3; i++) {
		m[i].msg_hdr.msg_iov = &riov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	long r = sys(SYS_recvmmsg, sv[1], m, 3, 0, NULL);
	expect("recvmmsg", r == 3 && m[0].msg_len == 3 && m[1].msg_len == 5 && m[2].msg_len == 7);
	expect_err("recvmmsg nothing queued", sys(SYS_recvmmsg, sv[1], m, 3, MSG_DONTWAIT, NULL), EAGAIN);
	struct timespec bad = {0, 2000000000};
	expect_err("recvmmsg bad timeout", sys(SYS_recvmmsg, sv[1], m, 3, 0, &bad), EINVAL);
	expect_err("sendmmsg bad fd", sys(SYS_sendmmsg, 999, m, 1, 0), EBADF);
	expect("sendmmsg none", sys(SYS_sendmmsg, sv[0], m, 0, 0) == 0);
	close(sv[0]);
	close(sv[1]);
}

static void rw2(void)
{
	int fd = open(in("rw"), O_CREAT | O_RDWR | O_TRUNC, 0644);
	struct iovec iov = {"hello", 5};
	expect("pwritev2 at 10", sys(SYS_pwritev2, fd, &iov, 1, 10L, 0L, 0L) == 5);
	expect("pwritev2 at -1 (position)", sys(SYS_pwritev2, fd, &iov, 1, -1L, 0L, 0L) == 5);
	expect("position moved", lseek(fd, 0, SEEK_CUR) == 5);
	iov.iov_base = "tail";
	iov.iov_len = 4;
	expect("pwritev2 RWF_APPEND", sys(SYS_pwritev2, fd, &iov, 1, 0L, 0L, 0x10L) == 4);
	expect("appended", lseek(fd, 0, SEEK_END) == 19);
	char buf[32] = {0};
	struct iovec r = {buf, sizeof buf};
	expect("preadv2 at 10", sys(SYS_preadv2, fd, &r, 1, 10L, 0L, 0L) == 9 && memcmp(buf, "hellotail", 9) == 0);
	expect("preadv2 RWF_NOWAIT on a file", sys(SYS_preadv2, fd, &r, 1, 0L, 0L, 8L) >= 0);
	expect_err("preadv2 unknown flag", sys(SYS_preadv2, fd, &r, 1, 0L, 0L, 0x10000L), EOPNOTSUPP);
	expect_err("preadv2 offset -2", sys(SYS_preadv2, fd, &r, 1, -2L, 0L, 0L), EINVAL);
	int p[2];
	pipe(p);
	expect_err("preadv2 RWF_NOWAIT on an empty pipe", sys(SYS_preadv2, p[0], &r, 1, -1L, 0L, 8L), EAGAIN);
	close(p[0]);
	close(p[1]);
	close(fd);
}

struct open_how_ {
	uint64_t flags, mode, resolve;
};

static void openat2s(void)
{
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	close(open(in("o"), O_CREAT | O_WRONLY, 0644));
	symlink("o", in("olink"));
	struct open_how_ how = {O_RDONLY, 0, 0};
	long fd = sys(SYS_openat2, d, "o", &how, sizeof how);
	expect("openat2 plain", fd >= 0);
	close(fd);
	expect_err("openat2 size 0", sys(SYS_openat2, d, "o", &how, 0), EINVAL);
	char big[64] = {0};
	memcpy(big, &how, sizeof how);
	fd = sys(SYS_openat2, d, "o", big, sizeof big);
	expect("openat2 larger struct, zero tail", fd >= 0);
	close(fd);
	big[40] = 1;
	expect_err("openat2 non-zero tail", sys(SYS_openat2, d, "o", big, sizeof big), E2BIG);
	how.mode = 0644;
	expect_err("openat2 mode without O_CREAT", sys(SYS_openat2, d, "o", &how, sizeof how), EINVAL);
	how = (struct open_how_){1ull << 40, 0, 0};
	expect_err("openat2 unknown flag", sys(SYS_openat2, d, "o", &how, sizeof how), EINVAL);
	how = (struct open_how_){O_RDONLY, 0, 0x08 /* BENEATH */};
	expect_err("RESOLVE_BENEATH absolute", sys(SYS_openat2, d, "/etc/passwd", &how, sizeof how), EXDEV);
	expect_err("RESOLVE_BENEATH dotdot", sys(SYS_openat2, d, "../etc", &how, sizeof how), EXDEV);
	fd = sys(SYS_openat2, d, "o", &how, sizeof how);
	expect("RESOLVE_BENEATH inside", fd >= 0);
	close(fd);
	how.resolve = 0x10; /* IN_ROOT */
	fd = sys(SYS_openat2, d, "/o", &how, sizeof how);
	expect("RESOLVE_IN_ROOT: / is the directory", fd >= 0);
	close(fd);
	how.resolve = 0x04; /* NO_SYMLINKS */
	expect_err("RESOLVE_NO_SYMLINKS", sys(SYS_openat2, d, "olink", &how, sizeof how), ELOOP);
	how.resolve = 0x18;
	expect_err("BENEATH with IN_ROOT", sys(SYS_openat2, d, "o", &how, sizeof how), EINVAL);
	how.resolve = 0x1000;
	expect_err("unknown resolve flag", sys(SYS_openat2, d, "o", &how, sizeof how), EINVAL);

	/* fchmodat2 */
	expect("fchmodat2", sys(SYS_fchmodat2, d, "o", 0600, 0) == 0);
	struct stat st;
	stat(in("o"), &st);
	expect("mode set", (st.st_mode & 0777) == 0600);
	expect_err("fchmodat2 NOFOLLOW on a symlink", sys(SYS_fchmodat2, d, "olink", 0600, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP);
	expect_err("fchmodat2 bad flags", sys(SYS_fchmodat2, d, "o", 0600, 0x8000), EINVAL);
	fd = open(in("o"), O_RDONLY);
	expect("fchmodat2 AT_EMPTY_PATH", sys(SYS_fchmodat2, fd, "", 0640, AT_EMPTY_PATH) == 0);
	stat(in("o"), &st);
	expect("mode set through fd", (st.st_mode & 0777) == 0640);

	/* cachestat */
	uint64_t range[2] = {0, 0}, cs[5];
	expect("cachestat", sys(SYS_cachestat, fd, range, cs, 0) == 0);
	expect_err("cachestat flags", sys(SYS_cachestat, fd, range, cs, 1), EINVAL);
	expect_err("cachestat bad fd", sys(SYS_cachestat, 999, range, cs, 0), EBADF);
	close(fd);

	/* name_to_handle_at */
	struct {
		unsigned bytes;
		int type;
		unsigned char h[128];
	} fh = {0};
	int mnt;
	expect_err("name_to_handle_at: too small", sys(SYS_name_to_handle_at, d, "o", &fh, &mnt, 0), EOVERFLOW);
	expect("the size needed is given back", fh.bytes > 0 && fh.bytes <= 128);
	expect("name_to_handle_at", sys(SYS_name_to_handle_at, d, "o", &fh, &mnt, 0) == 0);
	fh.bytes = 129;
	expect_err("name_to_handle_at: more than MAX_HANDLE_SZ", sys(SYS_name_to_handle_at, d, "o", &fh, &mnt, 0), EINVAL);
	expect_err("name_to_handle_at bad flags", sys(SYS_name_to_handle_at, d, "o", &fh, &mnt, 0x8000), EINVAL);
	close(d);
}

static void shares(void)
{
	expect("unshare(CLONE_FILES)", sys(SYS_unshare, CLONE_FILES) == 0);
	expect("unshare(CLONE_FS)", sys(SYS_unshare, CLONE_FS) == 0);
	expect("unshare(CLONE_SYSVSEM)", sys(SYS_unshare, CLONE_SYSVSEM) == 0);
	expect("unshare(0)", sys(SYS_unshare, 0) == 0);
	expect_err("unshare unknown flag", sys(SYS_unshare, CLONE_SETTLS), EINVAL);

	int fd = open(dir, O_RDONLY), fd2 = dup(fd), fd3 = open(dir, O_RDONLY);
	pid_t me = getpid();
	expect("kcmp same file", sys(SYS_kcmp, me, me, 0, fd, fd2) == 0);
	long r = sys(SYS_kcmp, me, me, 0, fd, fd3);
	expect("kcmp other file", r == 1 || r == 2);
	expect("kcmp VM self", sys(SYS_kcmp, me, me, 1, 0, 0) == 0);
	expect_err("kcmp bad type", sys(SYS_kcmp, me, me, 99, 0, 0), EINVAL);
	expect_err("kcmp bad fd", sys(SYS_kcmp, me, me, 0, fd, 999), EBADF);
	int p[2];
	pipe(p);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(p[1]);
		read(p[0], &c, 1);
		_exit(0);
	}
	close(p[0]);
	expect("kcmp file inherited by a child", sys(SYS_kcmp, me, pid, 0, fd, fd) == 0);
	r = sys(SYS_kcmp, me, pid, 1, 0, 0);
	expect("kcmp VM of a forked child differs", r == 1 || r == 2);
	r = sys(SYS_kcmp, me, pid, 2, 0, 0);
	expect("kcmp FILES of a forked child differs", r == 1 || r == 2);
	close(p[1]);
	waitpid(pid, NULL, 0);
	expect_err("kcmp reaped child", sys(SYS_kcmp, me, pid, 1, 0, 0), ESRCH);
	close(fd);
	close(fd2);
	close(fd3);

	long mask = sys(SYS_membarrier, 0, 0, 0);
	printf("membarrier query: %#lx\n", mask);
	expect_err("membarrier private unregistered", sys(SYS_membarrier, 8, 0, 0), EPERM);
	expect("membarrier register private", sys(SYS_membarrier, 16, 0, 0) == 0);
	expect("membarrier private", sys(SYS_membarrier, 8, 0, 0) == 0);
	expect("membarrier global", sys(SYS_membarrier, 1, 0, 0) == 0);
	expect_err("membarrier flags", sys(SYS_membarrier, 1, 1, 0), EINVAL);
	expect_err("membarrier unknown", sys(SYS_membarrier, 0x4000, 0, 0), EINVAL);
}

struct sched_attr_ {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t prio;
	uint64_t runtime, deadline, period;
	uint32_t umin, umax;
};

static void scheds(void)
{
	struct sched_attr_ at;
	memset(&at, 0xff, sizeof at);
	expect("sched_getattr", sys(SYS_sched_getattr, 0, &at, sizeof at, 0) == 0);
	printf("sched_getattr: size %u policy %u nice %d prio %u umin %u umax %u\n", at.size, at.policy, at.nice, at.prio,
	       at.umin, at.umax);
	expect_err("sched_getattr small size", sys(SYS_sched_getattr, 0, &at, 10, 0), EINVAL);
	expect_err("sched_getattr flags", sys(SYS_sched_getattr, 0, &at, sizeof at, 1), EINVAL);
	expect_err("sched_getattr bad pid", sys(SYS_sched_getattr, -1, &at, sizeof at, 0), EINVAL);
	memset(&at, 0, sizeof at);
	at.size = sizeof at;
	at.nice = 5;
	expect("sched_setattr nice 5", sys(SYS_sched_setattr, 0, &at, 0) == 0);
	memset(&at, 0, sizeof at);
	sys(SYS_sched_getattr, 0, &at, sizeof at, 0);
	expect("nice read back", at.nice == 5);
	at.size = 20;
	expect_err("sched_setattr small size", sys(SYS_sched_setattr, 0, &at, 0), E2BIG);
	expect("size written back", at.size == sizeof at);
	memset(&at, 0, sizeof at);
	at.size = sizeof at;
	at.policy = 77;
	expect_err("sched_setattr bad policy", sys(SYS_sched_setattr, 0, &at, 0), EINVAL);

	printf("timer slack: %ld\n", (long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
	expect("PR_SET_TIMERSLACK", prctl(PR_SET_TIMERSLACK, 123456, 0, 0, 0) == 0);
	expect("PR_GET_TIMERSLACK", prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) == 123456);
	fflush(stdout);
	if (fork() == 0)
		_exit(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0) == 123456 ? 0 : 1);
	int st;
	wait(&st);
	expect("a child inherits the slack", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	expect("PR_SET_TIMERSLACK 0", prctl(PR_SET_TIMERSLACK, 0, 0, 0, 0) == 0);
	printf("timer slack after reset: %ld\n", (long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));

	struct sched_param sp = {0};
	/* Raw calls: musl's wrappers of the scheduler calls answer ENOSYS themselves. */
	expect("SCHED_BATCH", sys(SYS_sched_setscheduler, 0, SCHED_BATCH, &sp) == 0 &&
				      sys(SYS_sched_getscheduler, 0) == SCHED_BATCH);
	expect("SCHED_IDLE with SCHED_RESET_ON_FORK", sys(SYS_sched_setscheduler, 0, SCHED_IDLE | SCHED_RESET_ON_FORK, &sp) == 0 &&
							      sys(SYS_sched_getscheduler, 0) == (SCHED_IDLE | SCHED_RESET_ON_FORK));
	fflush(stdout);
	if (fork() == 0)
		_exit(sys(SYS_sched_getscheduler, 0));
	wait(&st);
	expect("the child keeps SCHED_IDLE, without the reset flag", WIFEXITED(st) && WEXITSTATUS(st) == SCHED_IDLE);
	sp.sched_priority = 1;
	expect_err("sched_setparam priority 1 under SCHED_IDLE", sys(SYS_sched_setparam, 0, &sp), EINVAL);
	expect_err("sched_setscheduler negative policy, bad pid", sys(SYS_sched_setscheduler, -1, -1, &sp), EINVAL);
	expect_err("sched_setscheduler NULL param", sys(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL), EINVAL);
	expect_err("sched_setscheduler bad param pointer, no such pid", sys(SYS_sched_setscheduler, 99999999, SCHED_OTHER, 8), EFAULT);
	expect_err("sched_getparam no such pid", sys(SYS_sched_getparam, 99999999, &sp), ESRCH);
	sp.sched_priority = 0;
	expect("back to SCHED_OTHER", sys(SYS_sched_setscheduler, 0, SCHED_OTHER, &sp) == 0 &&
					      sys(SYS_sched_getscheduler, 0) == SCHED_OTHER);

	long v = sys(SYS_ioprio_get, 1, 0);
	printf("ioprio_get: %#lx\n", v);
	expect("ioprio_set BE 3", sys(SYS_ioprio_set, 1, 0, 2 << 13 | 3) == 0);
	expect("ioprio_get BE 3", sys(SYS_ioprio_get, 1, 0) == (2 << 13 | 3));
	expect_err("ioprio_set bad class", sys(SYS_ioprio_set, 1, 0, 5 << 13), EINVAL);
	expect_err("ioprio_set bad which", sys(SYS_ioprio_set, 9, 0, 2 << 13), EINVAL);
	expect_err("ioprio_get bad pid", sys(SYS_ioprio_get, 1, 99999999), ESRCH);

	long nfs = sys(SYS_sysfs, 3);
	expect("sysfs count", nfs > 0);
	long idx = sys(SYS_sysfs, 1, "proc");
	char name[64] = {0};
	expect("sysfs name of index", idx >= 0 && sys(SYS_sysfs, 2, idx, name) == 0 && strcmp(name, "proc") == 0);
	expect_err("sysfs unknown type", sys(SYS_sysfs, 1, "nosuchfs"), EINVAL);
	expect_err("sysfs bad option", sys(SYS_sysfs, 9), EINVAL);
	char ust[32];
	expect_err("ustat of no device", sys(SYS_ustat, 0xfffff, ust), EINVAL);
}

static void refused(void)
{
	if (setgid(1000) || setuid(1000)) {
		printf("setuid: %s\n", errname(errno));
		failures++;
		return;
	}
	expect_err("mount", sys(SYS_mount, "none", "/mnt", "tmpfs", 0, NULL), EPERM);
	expect_err("umount2 bad flags", sys(SYS_umount2, "/", 0x100), EINVAL);
	expect_err("umount2 missing path", sys(SYS_umount2, "/no/such/dir", 0), ENOENT);
	expect_err("umount2", sys(SYS_umount2, "/", 0), EPERM);
	expect_err("swapon", sys(SYS_swapon, "/swap", 0), EPERM);
	expect_err("swapoff", sys(SYS_swapoff, "/swap"), EPERM);
	expect_err("reboot", sys(SYS_reboot, 0xfee1dead, 672274793, 0x1234567, NULL), EPERM);
	expect_err("sethostname", sys(SYS_sethostname, "x", 1), EPERM);
	expect_err("setdomainname", sys(SYS_setdomainname, "x", 1), EPERM);
	expect_err("syslog read all", sys(SYS_syslog, 3, NULL, 0), EPERM);
	struct timespec ts = {1, 0};
	expect_err("clock_settime", sys(SYS_clock_settime, CLOCK_REALTIME, &ts), EPERM);
	expect_err("clock_settime monotonic", sys(SYS_clock_settime, CLOCK_MONOTONIC, &ts), EINVAL);
	struct timeval tv = {1, 0};
	expect_err("settimeofday", sys(SYS_settimeofday, &tv, NULL), EPERM);
	tv.tv_usec = 2000000;
	expect_err("settimeofday bad time", sys(SYS_settimeofday, &tv, NULL), EINVAL);
	char tx[208] = {0};
	expect("adjtimex read", sys(SYS_adjtimex, tx) >= 0);
	tx[0] = 1;
	expect_err("adjtimex change", sys(SYS_adjtimex, tx), EPERM);
	expect_err("acct", sys(SYS_acct, NULL), EPERM);
	expect_err("vhangup", sys(SYS_vhangup), EPERM);
	expect_err("pivot_root", sys(SYS_pivot_root, "/", "/"), EPERM);
	expect_err("chroot", sys(SYS_chroot, "/"), EPERM);
	expect_err("userfaultfd", sys(SYS_userfaultfd, O_CLOEXEC), EPERM);
	expect_err("userfaultfd bad flags", sys(SYS_userfaultfd, 0x100), EPERM);
	expect_err("unshare(CLONE_NEWNS)", sys(SYS_unshare, CLONE_NEWNS), EPERM);
	expect_err("unshare(CLONE_NEWUTS)", sys(SYS_unshare, CLONE_NEWUTS), EPERM);
	expect_err("unshare(CLONE_NEWNET)", sys(SYS_unshare, CLONE_NEWNET), EPERM);
	int ns = open("/proc/self/ns/uts", O_RDONLY);
	expect_err("setns", sys(SYS_setns, ns, 0), EPERM);
	close(ns);
	expect_err("setns bad fd", sys(SYS_setns, 999, 0), EBADF);
	int fd = open("/", O_RDONLY);
	expect_err("setns not a namespace", sys(SYS_setns, fd, 0), EINVAL);
	close(fd);
	expect_err("ioprio_set RT", sys(SYS_ioprio_set, 1, 0, 1 << 13), EPERM);
	struct {
		unsigned bytes;
		int type;
		unsigned char h[128];
	} fh = {128};
	int mnt;
	if (sys(SYS_name_to_handle_at, AT_FDCWD, dir, &fh, &mnt, 0) == 0)
		expect_err("open_by_handle_at", sys(SYS_open_by_handle_at, AT_FDCWD, &fh, O_RDONLY), EPERM);
	else
		printf("name_to_handle_at: %s\n", errname(errno));
}

int main(void)
{
	strcpy(dir, "/tmp/calls.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	chmod(dir, 0755);
	xattrs();
	splices();
	mmsgs();
	rw2();
	openat2s();
	shares();
	scheds();
	if (getuid() == 0) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			refused();
			fflush(stdout);
			_exit(failures);
		}
		int st;
		waitpid(pid, &st, 0);
		failures += WIFEXITED(st) ? WEXITSTATUS(st) : 100;
	}
	char cmd[128];
	snprintf(cmd, sizeof cmd, "%s", dir);
	const char *names[] = {"x", "xlink", "s", "rw", "o", "olink"};
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
		unlink(in(names[i]));
	rmdir(dir);
	return failures;
}
