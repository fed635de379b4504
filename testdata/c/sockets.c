/* sockets exercises host sockets through the guest's system calls: a socketpair that
 * passes a descriptor with SCM_RIGHTS, a Unix stream socket bound to a relative path, a TCP
 * echo and a UDP exchange on the loopback, options, and the errors Linux gives.
 *
 * Usage: sockets DIR (a scratch directory for the Unix socket) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

static void pass_fd(void)
{
	int sv[2], p[2];
	expect("socketpair", socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	expect("socketpair cloexec", fcntl(sv[0], F_GETFD) == FD_CLOEXEC);
	pipe(p);
	write(p[1], "via the passed fd", 17);

	char data = 'x';
	struct iovec iov = {&data, 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &p[0], sizeof(int));
	expect("sendmsg SCM_RIGHTS", sendmsg(sv[0], &m, 0) == 1);
	close(p[0]);

	char got = 0;
	struct iovec riov = {&got, 1};
	memset(&u, 0, sizeof u);
	struct msghdr r = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	expect("recvmsg", recvmsg(sv[1], &r, MSG_CMSG_CLOEXEC) == 1 && got == 'x');
	c = CMSG_FIRSTHDR(&r);
	int fd = -1;
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	expect("received a descriptor", fd >= 0);
	expect("MSG_CMSG_CLOEXEC", fd >= 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC);
	char buf[64] = {0};
	expect("reading through it", read(fd, buf, sizeof buf) == 17 && !strcmp(buf, "via the passed fd"));
	close(fd);
	close(p[1]);

	expect_err("recv on an empty socket, MSG_DONTWAIT", recv(sv[1], buf, 1, MSG_DONTWAIT), EAGAIN);
	close(sv[0]);
	expect("recv after the peer closed", recv(sv[1], buf, 1, 0) == 0);
	close(sv[1]);
}

static void unix_stream(void)
{
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, "server.sock");
	unlink("server.sock");
	expect("bind to a relative path", bind(s, (struct sockaddr *)&a, sizeof a) == 0);
	expect("the socket file is in the working directory", access("server.sock", F_OK) == 0);
	expect("listen", listen(s, 4) == 0);
	struct sockaddr_un b;
	socklen_t bl = sizeof b;
	getsockname(s, (struct sockaddr *)&b, &bl);
	expect("getsockname shows the path as given", !strcmp(b.sun_path, "server.sock"));

	pid_t pid = fork();
	if (pid == 0) {
		int c = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&a, sizeof a) < 0)
			_exit(1);
		char msg[32] = {0};
		ssize_t n = read(c, msg, sizeof msg);
		write(c, msg, n > 0 ? n : 0);
		_exit(0);
	}
	int c = accept(s, NULL, NULL); /* waits for the child */
	expect("accept", c >= 0);
	write(c, "ping", 4);
	char back[8] = {0};
	expect("echoed by the child", read(c, back, sizeof back) == 4 && !strcmp(back, "ping"));
	int st;
	waitpid(pid, &st, 0);
	expect("child status", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(c);
	close(s);
	unlink("server.sock");
}

static void tcp(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	expect("setsockopt SO_REUSEADDR", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0);
	int v = 0;
	socklen_t vl = sizeof v;
	expect("getsockopt SO_REUSEADDR", getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, &vl) == 0 && v == 1 && vl == sizeof v);
	vl = sizeof v;
	expect("getsockopt SO_TYPE", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &vl) == 0 && v == SOCK_STREAM);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	expect("bind 127.0.0.1:0", bind(s, (struct sockaddr *)&a, sizeof a) == 0);
	socklen_t al = sizeof a;
	getsockname(s, (struct sockaddr *)&a, &al);
	expect("an ephemeral port", ntohs(a.sin_port) != 0 && al == sizeof a);
	listen(s, 4);

	pid_t pid = fork();
	if (pid == 0) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&a, sizeof a) < 0)
			_exit(1);
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		char buf[256];
		ssize_t n;
		while ((n = recv(c, buf, sizeof buf, 0)) > 0)
			send(c, buf, n, 0);
		_exit(0);
	}
	struct sockaddr_in peer;
	socklen_t pl = sizeof peer;
	int c = accept4(s, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
	expect("accept4 with the peer's address", c >= 0 && peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	expect("accept4 SOCK_CLOEXEC", fcntl(c, F_GETFD) == FD_CLOEXEC);
	struct sockaddr_in gp;
	socklen_t gl = sizeof gp;
	expect("getpeername", getpeername(c, (struct sockaddr *)&gp, &gl) == 0 && gp.sin_port == peer.sin_port);
	const char *msg = "across the loopback";
	send(c, msg, strlen(msg), 0);
	char back[64] = {0};
	size_t got = 0;
	while (got < strlen(msg)) {
		ssize_t n = recv(c, back + got, sizeof back - 1 - got, 0);
		if (n <= 0)
			break;
		got += n;
	}
	expect("TCP echo", !strcmp(back, msg));
	expect("shutdown", shutdown(c, SHUT_WR) == 0);
	int st;
	waitpid(pid, &st, 0);
	expect("the echo child ends on shutdown", WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(c);
	close(s);

	int r = socket(AF_INET, SOCK_STREAM, 0);
	expect_err("connect to a closed port", connect(r, (struct sockaddr *)&a, sizeof a), ECONNREFUSED);
	close(r);
}

static void udp(void)
{
	int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in aa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct sockaddr_in ba = aa;
	bind(a, (struct sockaddr *)&aa, sizeof aa);
	bind(b, (struct sockaddr *)&ba, sizeof ba);
	socklen_t l = sizeof aa;
	getsockname(a, (struct sockaddr *)&aa, &l);
	l = sizeof ba;
	getsockname(b, (struct sockaddr *)&ba, &l);
	char buf[32] = {0};
	expect_err("recvfrom on an empty non-blocking socket", recvfrom(b, buf, sizeof buf, 0, NULL, NULL), EAGAIN);
	expect("sendto", sendto(a, "datagram", 8, 0, (struct sockaddr *)&ba, sizeof ba) == 8);
	struct pollfd pfd = {b, POLLIN, 0};
	expect("poll sees the datagram", poll(&pfd, 1, 2000) == 1);
	struct sockaddr_in from;
	socklen_t fl = sizeof from;
	ssize_t n = recvfrom(b, buf, 4, 0, (struct sockaddr *)&from, &fl);
	expect("recvfrom truncates to the buffer", n == 4 && !memcmp(buf, "data", 4));
	expect("recvfrom names the sender", from.sin_port == aa.sin_port && fl == sizeof from);
	close(a);
	close(b);
}

static void errors(void)
{
	int fd = open("/dev/null", O_RDONLY);
	struct sockaddr_in a = {.sin_family = AF_INET};
	expect_err("bind on a file", bind(fd, (struct sockaddr *)&a, sizeof a), ENOTSOCK);
	close(fd);
	expect_err("bind on a bad fd", bind(999, (struct sockaddr *)&a, sizeof a), EBADF);
	expect_err("socket with a bad domain", socket(12345, SOCK_STREAM, 0), EAFNOSUPPORT);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	expect_err("bind with a bad address pointer", bind(s, (struct sockaddr *)8, sizeof a), EFAULT);
	expect_err("getsockopt with a bad length pointer", getsockopt(s, SOL_SOCKET, SO_TYPE, &fd, (socklen_t *)8), EFAULT);
	expect_err("recv on an unconnected stream socket", recv(s, &fd, 1, 0), ENOTCONN);
	close(s);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2 || chdir(argv[1]) < 0) {
		fprintf(stderr, "usage: sockets DIR\n");
		return 2;
	}
	pass_fd();
	unix_stream();
	tcp();
	udp();
	errors();
	return failures != 0;
}
