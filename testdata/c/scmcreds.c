/* scmcreds: SCM_CREDENTIALS sent by a forked child, with its own pid, uid and gid, as
 * GLib's GDBus sends them to a dbus-daemon: the send succeeds and the receiver, with
 * SO_PASSCRED, gets the ids. A pid that is no process's fails with ESRCH. The children
 * come after 300 others, so that their pids are far from the first process's (under vemu,
 * pids near it were vemu's own threads on the host, which the host took for the sender).
 * (The pid the receiver gets is vemu's for every guest sender, see the README.) A sender
 * without privilege may send only its own pid and ids: another's are EPERM. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static long send_ids(int fd, pid_t pid, uid_t uid, gid_t gid)
{
	struct ucred c = {pid, uid, gid};
	char cbuf[CMSG_SPACE(sizeof c)];
	memset(cbuf, 0, sizeof cbuf);
	struct msghdr m = {0};
	m.msg_control = cbuf;
	m.msg_controllen = sizeof cbuf;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_CREDENTIALS;
	cm->cmsg_len = CMSG_LEN(sizeof c);
	memcpy(CMSG_DATA(cm), &c, sizeof c);
	char x = 'c';
	struct iovec io = {&x, 1};
	m.msg_iov = &io;
	m.msg_iovlen = 1;
	return sendmsg(fd, &m, 0);
}

static long send_creds(int fd, pid_t pid) { return send_ids(fd, pid, getuid(), getgid()); }

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 1;
	for (int i = 0; i < 300; i++) {
		pid_t c = fork();
		if (c == 0)
			_exit(0);
		waitpid(c, NULL, 0);
	}
	int on = 1;
	setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
	for (int round = 0; round < 3; round++) {
		pid_t c = fork();
		if (c == 0) {
			long r = send_creds(sv[1], getpid());
			_exit(r == 1 ? 0 : errno == ESRCH ? 3 : 4);
		}
		int st;
		waitpid(c, &st, 0);
		expect("a child's send of its own credentials", WIFEXITED(st) && WEXITSTATUS(st) == 0);
		struct ucred got = {0};
		char cbuf[CMSG_SPACE(sizeof got)];
		struct msghdr m = {0};
		char x;
		struct iovec io = {&x, 1};
		m.msg_iov = &io;
		m.msg_iovlen = 1;
		m.msg_control = cbuf;
		m.msg_controllen = sizeof cbuf;
		long n = recvmsg(sv[0], &m, MSG_DONTWAIT);
		struct cmsghdr *cm = n == 1 ? CMSG_FIRSTHDR(&m) : NULL;
		if (cm && cm->cmsg_type == SCM_CREDENTIALS)
			memcpy(&got, CMSG_DATA(cm), sizeof got);
		expect("  received with its ids", cm && got.uid == getuid() && got.gid == getgid());
	}
	expect("its own pid from the parent", send_creds(sv[1], getpid()) == 1);
	char x;
	recv(sv[0], &x, 1, MSG_DONTWAIT);
	/* A pid far above pid_max names no process. */
	errno = 0;
	long r = send_creds(sv[1], 0x3fffffff);
	printf("a pid of no process: %s\n", r < 0 ? errname(errno) : "sent");

	/* Without privilege: its own pid and ids only. */
	pid_t parent = getpid();
	pid_t c = fork();
	if (c == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(9);
		errno = 0;
		long a = send_ids(sv[1], parent, 65534, 65534);
		int ea = errno;
		long b = send_ids(sv[1], getpid(), 0, 65534);
		int eb = errno;
		long g = send_ids(sv[1], getpid(), 65534, 0);
		int eg = errno;
		long own = send_ids(sv[1], getpid(), 65534, 65534);
		printf("unprivileged, another's pid: %s\n", a < 0 ? errname(ea) : "sent");
		printf("unprivileged, another uid: %s\n", b < 0 ? errname(eb) : "sent");
		printf("unprivileged, another gid: %s\n", g < 0 ? errname(eg) : "sent");
		printf("unprivileged, its own: %s\n", own == 1 ? "sent" : errname(errno));
		_exit(0);
	}
	waitpid(c, NULL, 0);
	return failures != 0;
}
