/* peercred: SO_PEERCRED of Unix sockets between processes. The peer of a socketpair's
 * end is the process that made the pair, in whichever process asks (a forked child, or
 * one the end was passed to); a server's accepted socket names the process that called
 * connect(), with its effective ids then; the client's socket names the process that
 * called listen(). Each guest process is one of vemu's, which the host's answer named
 * for all of them. */
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static struct ucred peer(int fd)
{
	struct ucred c = {-1, (uid_t)-1, (gid_t)-1};
	socklen_t n = sizeof c;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &n) < 0)
		c.pid = -errno;
	return c;
}

/* in_child runs f in a child and returns its exit status: its failures. */
static int in_child(int (*f)(void *), void *arg)
{
	fflush(stdout);
	pid_t c = fork();
	if (c == 0)
		_exit(f(arg));
	int st;
	waitpid(c, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100;
}

static pid_t parent;
static int sv[2];

static int pair_child(void *arg)
{
	struct ucred c = peer(sv[1]);
	expect("a forked child's end of its parent's pair names the parent", c.pid == parent);
	expect("  with the parent's ids", c.uid == geteuid() && c.gid == getegid());
	fflush(stdout);
	return failures;
}

static struct sockaddr_un addr;
static socklen_t addrlen;

static int client(void *arg)
{
	int euid = *(int *)arg;
	if (euid >= 0 && seteuid(euid) < 0)
		return 1;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(s, (struct sockaddr *)&addr, addrlen) < 0)
		return 1;
	char b;
	if (read(s, &b, 1) != 1) /* the server has accepted */
		return 1;
	struct ucred c = peer(s);
	expect("  the client's socket names the listener", c.pid == parent);
	fflush(stdout);
	write(s, "k", 1);
	read(s, &b, 1);
	return failures;
}

static void serve(int l, int euid, const char *what)
{
	fflush(stdout);
	pid_t c = fork();
	if (c == 0)
		_exit(client(&euid));
	int s = accept(l, NULL, NULL);
	struct ucred cr = peer(s);
	printf("%s:\n", what);
	expect("  the accepted socket names the client", cr.pid == c);
	expect("  with its effective uid", cr.uid == (euid >= 0 ? (uid_t)euid : geteuid()));
	fflush(stdout);
	char b = 'x';
	write(s, &b, 1);
	read(s, &b, 1);
	close(s);
	int st;
	waitpid(c, &st, 0);
	expect("  the client saw its peer", WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	parent = getpid();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 1;
	struct ucred c = peer(sv[0]);
	expect("a pair's end names its maker", c.pid == getpid() && c.uid == geteuid() && c.gid == getegid());
	failures += in_child(pair_child, NULL);

	/* The pair made by a child: its parent holds an end, the child is gone. */
	int pv[2];
	fflush(stdout);
	pid_t maker = fork();
	if (maker == 0) {
		int p[2];
		socketpair(AF_UNIX, SOCK_DGRAM, 0, p);
		struct msghdr m = {0};
		char cbuf[CMSG_SPACE(2 * sizeof(int))];
		m.msg_control = cbuf;
		m.msg_controllen = sizeof cbuf;
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
		memcpy(CMSG_DATA(cm), p, 2 * sizeof(int));
		char x = 'p';
		struct iovec io = {&x, 1};
		m.msg_iov = &io;
		m.msg_iovlen = 1;
		_exit(sendmsg(sv[1], &m, 0) == 1 ? 0 : 1);
	}
	waitpid(maker, NULL, 0);
	{
		struct msghdr m = {0};
		char cbuf[CMSG_SPACE(2 * sizeof(int))];
		m.msg_control = cbuf;
		m.msg_controllen = sizeof cbuf;
		char x;
		struct iovec io = {&x, 1};
		m.msg_iov = &io;
		m.msg_iovlen = 1;
		if (recvmsg(sv[0], &m, 0) != 1 || !CMSG_FIRSTHDR(&m))
			return 1;
		memcpy(pv, CMSG_DATA(CMSG_FIRSTHDR(&m)), 2 * sizeof(int));
	}
	c = peer(pv[0]);
	expect("a pair passed from its maker, now gone, names the maker", c.pid == maker);

	/* A listener on an abstract name, and clients. */
	memset(&addr, 0, sizeof addr);
	addr.sun_family = AF_UNIX;
	snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "peercred-%d", (int)getpid());
	addrlen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(addr.sun_path + 1);
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(l, (struct sockaddr *)&addr, addrlen) < 0 || listen(l, 8) < 0)
		return 1;
	serve(l, -1, "a client");
	if (geteuid() == 0)
		serve(l, 65534, "a client with effective uid 65534");
	else
		printf("a client with effective uid 65534: skipped (not root)\n");

	/* Many pairs made and closed. */
	int ok = 1;
	for (int i = 0; i < 2000 && ok; i++) {
		int p[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) < 0) {
			ok = 0;
			break;
		}
		ok = peer(p[1]).pid == getpid();
		close(p[0]);
		close(p[1]);
	}
	expect("2000 pairs made and closed each name their maker", ok);
	return failures != 0;
}
