/* seccompnotify: seccomp user notification as on Linux. A child installs a filter with
 * SECCOMP_FILTER_FLAG_NEW_LISTENER and sends the listener to its parent over a Unix
 * socket; the parent supervises: poll, SECCOMP_IOCTL_NOTIF_RECV, SEND (a value, an
 * error, SECCOMP_USER_NOTIF_FLAG_CONTINUE), ID_VALID, ADDFD (plain, SETFD, SEND), a
 * thousand notifications, a call a signal interrupts, and the listener closed while a
 * call waits (ENOSYS). Also: the sizes, ENOSYS without a listener, EBUSY for a second
 * listener, POLLHUP once no thread uses the filter, a listener inherited by fork, and
 * the ioctls' checks. With "hang", the supervisor never answers (for a signal test). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define RET_USER_NOTIF 0x7fc00000u
#define RET_ALLOW 0x7fff0000u
#define FLAG_NEW_LISTENER 8
#define GET_NOTIF_SIZES 3
#define NOTIF_CONTINUE 1
#define ADDFD_SETFD 1
#define ADDFD_SEND 2

struct data {
	int nr;
	uint32_t arch;
	uint64_t ip;
	uint64_t args[6];
};
struct notif {
	uint64_t id;
	uint32_t pid;
	uint32_t flags;
	struct data data;
};
struct resp {
	uint64_t id;
	int64_t val;
	int32_t error;
	uint32_t flags;
};
struct addfd {
	uint64_t id;
	uint32_t flags;
	uint32_t srcfd;
	uint32_t newfd;
	uint32_t newfd_flags;
};

#define IOC(dir, nr, size) (((dir) << 30) | ((size) << 16) | ('!' << 8) | (nr))
#define NOTIF_RECV IOC(3u, 0, sizeof(struct notif))
#define NOTIF_SEND IOC(3u, 1, sizeof(struct resp))
#define NOTIF_ID_VALID IOC(1u, 2, 8)
#define NOTIF_ADDFD IOC(1u, 3, sizeof(struct addfd))
#define NOTIF_SET_FLAGS IOC(1u, 4, 8)

struct insn {
	uint16_t code;
	uint8_t jt, jf;
	uint32_t k;
};
struct prog {
	unsigned short len;
	struct insn *filter;
};

/* install notifies getppid, getuid, getgid and openat; the rest is allowed. */
static long install(unsigned flags)
{
	struct insn f[] = {
		{0x20, 0, 0, offsetof(struct data, nr)}, /* ld nr */
		{0x15, 4, 0, SYS_getppid},		 /* jeq -> notify */
		{0x15, 3, 0, SYS_getuid},
		{0x15, 2, 0, SYS_getgid},
		{0x15, 1, 0, SYS_openat},
		{0x06, 0, 0, RET_ALLOW},
		{0x06, 0, 0, RET_USER_NOTIF},
	};
	struct prog p = {7, f};
	return syscall(SYS_seccomp, 1, flags, &p);
}

static void send_fd(int sock, int fd)
{
	char c = 'L';
	struct iovec iov = {&c, 1};
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof cbuf);
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	struct cmsghdr *c1 = CMSG_FIRSTHDR(&m);
	c1->cmsg_level = SOL_SOCKET;
	c1->cmsg_type = SCM_RIGHTS;
	c1->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c1), &fd, sizeof fd);
	sendmsg(sock, &m, 0);
}

static int recv_fd(int sock)
{
	char c;
	struct iovec iov = {&c, 1};
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	if (recvmsg(sock, &m, 0) != 1)
		return -1;
	struct cmsghdr *c1 = CMSG_FIRSTHDR(&m);
	if (!c1 || c1->cmsg_type != SCM_RIGHTS)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(c1), sizeof fd);
	return fd;
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig, alarms++; }

static int sv[2];

/* step waits for the parent's go-ahead byte. */
static void step(void)
{
	char c;
	read(sv[0], &c, 1);
}

static void go(void) { write(sv[1], "g", 1); }

/* target is the supervised child. */
static void target(int hang)
{
	long gid = syscall(SYS_getgid);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	long lfd = install(FLAG_NEW_LISTENER);
	if (lfd < 0) {
		printf("install: %s\n", errname(errno));
		fflush(stdout);
		_exit(1);
	}
	if (hang) {
		send_fd(sv[0], lfd);
		close(lfd);
		syscall(SYS_getppid);
		_exit(0);
	}
	printf("the listener is a descriptor, close-on-exec: %d\n", (fcntl(lfd, F_GETFD) & FD_CLOEXEC) != 0);
	expect_err("a second listener", install(FLAG_NEW_LISTENER), EBUSY);
	send_fd(sv[0], lfd);
	close(lfd);
	printf("getppid answered: %ld\n", syscall(SYS_getppid));
	long r = syscall(SYS_getuid);
	printf("getuid answered with an error: %ld %s\n", r, r < 0 ? errname(errno) : "");
	printf("getgid continued to the kernel: %d\n", syscall(SYS_getgid) == gid);
	long fd = syscall(SYS_openat, AT_FDCWD, "/nonexistent/magic", O_RDONLY);
	char buf[32] = {0};
	read(fd, buf, sizeof buf - 1);
	printf("openat gave a descriptor of the supervisor's: \"%s\"\n", buf);
	printf("descriptor 100 was placed by SETFD: %d\n", fcntl(100, F_GETFD) == FD_CLOEXEC);
	char b2[32] = {0};
	read(100, b2, sizeof b2 - 1);
	printf("and reads \"%s\"\n", b2);
	fflush(stdout);
	long sum = 0;
	for (int i = 0; i < 1000; i++)
		sum += syscall(SYS_getppid);
	printf("a thousand notifications answered: %ld\n", sum);
	fflush(stdout);

	/* A signal interrupts the wait: the handler runs, the call is EINTR. */
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 0}, {0, 200000}};
	setitimer(ITIMER_REAL, &it, NULL);
	r = syscall(SYS_getppid);
	printf("the interrupted call: %ld %s, handler ran: %d\n", r, r < 0 ? errname(errno) : "", alarms);
	fflush(stdout);
	go();

	/* The supervisor closes the listener while this call waits. */
	r = syscall(SYS_getppid);
	printf("the call when the listener closed: %s\n", r < 0 ? errname(errno) : "answered");
	r = syscall(SYS_getppid);
	printf("a call with no listener: %s\n", r < 0 ? errname(errno) : "answered");
	printf("a new listener once the old one is closed: %d\n", install(FLAG_NEW_LISTENER) >= 0);
	fflush(stdout);
	_exit(0);
}

static struct notif recv_one(int lfd)
{
	struct notif n;
	memset(&n, 0, sizeof n);
	if (ioctl(lfd, NOTIF_RECV, &n) < 0)
		printf("RECV: %s\n", errname(errno));
	return n;
}

static void reply(int lfd, uint64_t id, int64_t val, int32_t error, uint32_t flags)
{
	struct resp r = {id, val, error, flags};
	if (ioctl(lfd, NOTIF_SEND, &r) < 0)
		printf("SEND: %s\n", errname(errno));
}

static int supervise(int hang)
{
	fflush(stdout);
	pid_t c = fork();
	if (c == 0)
		target(hang);
	int lfd = recv_fd(sv[1]);
	if (hang) {
		recv_one(lfd);
		printf("ready\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	printf("the parent received the listener: %d\n", lfd >= 0);
	struct pollfd pfd = {lfd, POLLIN, 0};
	int pr = poll(&pfd, 1, 5000);
	printf("poll: %d, POLLIN %d\n", pr, (pfd.revents & POLLIN) != 0);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd}, got;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	pr = epoll_wait(ep, &got, 1, 5000);
	printf("epoll: %d, EPOLLIN %d\n", pr, pr == 1 && (got.events & EPOLLIN) != 0);
	expect_err("SET_FLAGS with an unknown flag", ioctl(lfd, NOTIF_SET_FLAGS, 2UL), EINVAL);
	expect("SET_FLAGS(SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)", ioctl(lfd, NOTIF_SET_FLAGS, 1UL) == 0);
	struct notif n = recv_one(lfd);
	pr = epoll_wait(ep, &got, 1, 0);
	printf("once received, epoll: %d\n", pr);
	close(ep);
	printf("notification for the child: %d, getppid: %d, x86-64: %d, flags %u\n", n.pid == (uint32_t)c,
	       n.data.nr == SYS_getppid, n.data.arch == 0xc000003eu, n.flags);
	uint64_t id = n.id;
	expect("ID_VALID of the waiting call", ioctl(lfd, NOTIF_ID_VALID, &id) == 0);
	struct notif dirty = {.flags = 1};
	expect_err("RECV of a struct not zeroed", ioctl(lfd, NOTIF_RECV, &dirty), EINVAL);
	struct resp bad = {id, 1, 0, NOTIF_CONTINUE};
	expect_err("SEND of CONTINUE with a value", ioctl(lfd, NOTIF_SEND, &bad), EINVAL);
	bad = (struct resp){id, 0, 0, 2};
	expect_err("SEND with an unknown flag", ioctl(lfd, NOTIF_SEND, &bad), EINVAL);
	bad = (struct resp){id + 1000, 0, 0, 0};
	expect_err("SEND of an unknown id", ioctl(lfd, NOTIF_SEND, &bad), ENOENT);
	uint64_t other = id + 1000;
	expect_err("ID_VALID of an unknown id", ioctl(lfd, NOTIF_ID_VALID, &other), ENOENT);
	expect_err("RECV with a wrong size", ioctl(lfd, IOC(3u, 0, sizeof(struct notif) - 8), &dirty), EINVAL);
	expect_err("an unknown ioctl", ioctl(lfd, IOC(3u, 9, 8), &other), EINVAL);
	char rb[4];
	expect_err("read of the listener", read(lfd, rb, sizeof rb), EINVAL);
	struct addfd a = {id, 8, 0, 0, 0};
	expect_err("ADDFD with a bad flag", ioctl(lfd, NOTIF_ADDFD, &a), EINVAL);
	a = (struct addfd){id, 0, 0, 5, 0};
	expect_err("ADDFD with newfd but no SETFD", ioctl(lfd, NOTIF_ADDFD, &a), EINVAL);
	a = (struct addfd){id, 0, 999, 0, 0};
	expect_err("ADDFD of a bad descriptor", ioctl(lfd, NOTIF_ADDFD, &a), EBADF);
	a = (struct addfd){id, 0, 0, 0, 0};
	expect_err("ADDFD with a short struct", ioctl(lfd, IOC(1u, 3, 16), &a), EINVAL);
	reply(lfd, id, 4242, 0, 0);
	/* A second answer: EINPROGRESS, or ENOENT once the woken call is gone. */
	long r2 = ioctl(lfd, NOTIF_SEND, &(struct resp){id, 1, 0, 0});
	expect("SEND twice is refused", r2 < 0 && (errno == EINPROGRESS || errno == ENOENT));

	n = recv_one(lfd);
	printf("getuid notified: %d\n", n.data.nr == SYS_getuid);
	reply(lfd, n.id, 0, -EPERM, 0);

	n = recv_one(lfd);
	printf("getgid notified: %d\n", n.data.nr == SYS_getgid);
	reply(lfd, n.id, 0, 0, NOTIF_CONTINUE);

	n = recv_one(lfd);
	printf("openat notified: %d\n", n.data.nr == SYS_openat);
	int p[2], q[2];
	pipe(p);
	pipe(q);
	write(p[1], "from the supervisor", 19);
	close(p[1]);
	write(q[1], "set at 100", 10);
	close(q[1]);
	a = (struct addfd){n.id, ADDFD_SETFD, q[0], 100, O_CLOEXEC};
	printf("ADDFD with SETFD: %d\n", ioctl(lfd, NOTIF_ADDFD, &a));
	a = (struct addfd){n.id, ADDFD_SEND, p[0], 0, 0};
	long afd = ioctl(lfd, NOTIF_ADDFD, &a);
	printf("ADDFD with SEND gave a descriptor: %d\n", afd >= 3);
	r2 = ioctl(lfd, NOTIF_SEND, &(struct resp){n.id, 1, 0, 0});
	expect("a reply after ADDFD's SEND is refused", r2 < 0 && (errno == EINPROGRESS || errno == ENOENT));
	close(p[0]);
	close(q[0]);

	for (int i = 0; i < 1000; i++) {
		n = recv_one(lfd);
		reply(lfd, n.id, i, 0, 0);
	}

	/* The interrupted call: ID_VALID says ENOENT once the signal ended it. */
	n = recv_one(lfd);
	id = n.id;
	int gone = 0;
	for (int i = 0; i < 500 && !gone; i++) {
		gone = ioctl(lfd, NOTIF_ID_VALID, &id) < 0 && errno == ENOENT;
		if (!gone)
			usleep(10000);
	}
	printf("ID_VALID after the signal: %s\n", gone ? "ENOENT" : "still valid");
	expect_err("SEND to it", ioctl(lfd, NOTIF_SEND, &(struct resp){id, 1, 0, 0}), ENOENT);
	step();

	/* A call waits; the listener's last descriptor closes. */
	n = recv_one(lfd);
	printf("the last call notified: %d\n", n.data.nr == SYS_getppid);
	close(lfd);
	int st;
	waitpid(c, &st, 0);
	printf("the child exited: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}

/* hup: a listener whose filter no thread uses any more reports POLLHUP. */
static void hup(void)
{
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		long lfd = install(FLAG_NEW_LISTENER);
		send_fd(sv[0], lfd);
		_exit(0);
	}
	int lfd = recv_fd(sv[1]);
	waitpid(c, NULL, 0);
	struct pollfd pfd = {lfd, POLLIN, 0};
	int pr = poll(&pfd, 1, 5000);
	printf("after the child ended: poll %d, POLLHUP %d, POLLIN %d\n", pr, (pfd.revents & POLLHUP) != 0,
	       (pfd.revents & POLLIN) != 0);
	close(lfd);
}

/* inherited: the filter's process keeps the listener and supervises its forked child. */
static void inherited(void)
{
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		long lfd = install(FLAG_NEW_LISTENER);
		fflush(stdout);
		pid_t g = fork();
		if (g == 0) {
			long r = syscall(SYS_getppid);
			printf("the grandchild's getppid answered: %ld\n", r);
			fflush(stdout);
			_exit(0);
		}
		struct notif n = recv_one(lfd);
		printf("the inherited listener saw the grandchild: %d\n", n.pid == (uint32_t)g);
		reply(lfd, n.id, 77, 0, 0);
		waitpid(g, NULL, 0);
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, NULL, 0);
}

/* same_process: a thread without the filter supervises a thread with it. */
static volatile long self_lfd = -1;

static void *self_supervisor(void *arg)
{
	(void)arg;
	while (self_lfd < 0)
		usleep(1000);
	for (int i = 0; i < 2; i++) {
		struct notif n = recv_one(self_lfd);
		reply(self_lfd, n.id, 500 + i, 0, 0);
	}
	return NULL;
}

static void same_process(void)
{
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		pthread_t th;
		pthread_create(&th, NULL, self_supervisor, NULL);
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		self_lfd = install(FLAG_NEW_LISTENER);
		long a = syscall(SYS_getppid);
		long b = syscall(SYS_getppid);
		pthread_join(th, NULL);
		printf("a thread of the same process answered: %ld %ld\n", a, b);
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, NULL, 0);
}

int main(int argc, char **argv)
{
	int hang = argc > 1 && strcmp(argv[1], "hang") == 0;
	if (!hang) {
		uint16_t sizes[3];
		expect("SECCOMP_GET_NOTIF_SIZES", syscall(SYS_seccomp, GET_NOTIF_SIZES, 0, sizes) == 0);
		printf("sizes: notif %u, resp %u, data %u\n", sizes[0], sizes[1], sizes[2]);
		fflush(stdout);
		pid_t c = fork();
		if (c == 0) {
			prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
			install(0);
			long r = syscall(SYS_getppid);
			printf("a notifying filter without a listener: %s\n", r < 0 ? errname(errno) : "answered");
			fflush(stdout);
			_exit(0);
		}
		waitpid(c, NULL, 0);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 1;
	supervise(hang);
	hup();
	inherited();
	same_process();
	return failures;
}
