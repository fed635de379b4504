/* sockioctl: the socket ioctls. The interface requests (SIOCGIFCONF, SIOCGIFINDEX,
 * SIOCGIFNAME, SIOCGIFFLAGS, SIOCGIFHWADDR, SIOCGIFADDR...) about the loopback interface,
 * the entries SIOCGIFCONF gives for lengths from none to more than it needs, bad
 * pointers (EFAULT, also when only the copy back fails), bad descriptors, files that are
 * not sockets (ENOTTY), unknown interfaces (ENODEV), a change refused to an unprivileged
 * process (EPERM), and the socket's own requests (SIOCATMARK, SIOCOUTQ, SIOCGSTAMP,
 * FIOSETOWN and FIOGETOWN). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef SIOCOUTQ
#define SIOCOUTQ TIOCOUTQ
#endif
#ifndef SIOCGSTAMP
#define SIOCGSTAMP 0x8906
#endif

#define BAD ((void *)16)

static void lo_req(struct ifreq *r)
{
	memset(r, 0, sizeof *r);
	strcpy(r->ifr_name, "lo");
}

/* ifconf_len runs SIOCGIFCONF with buf and len; it returns ifc_len, or -1 with errno. */
static int ifconf_len(int s, void *buf, int len)
{
	struct ifconf ic = { .ifc_len = len, .ifc_buf = buf };
	if (ioctl(s, SIOCGIFCONF, &ic) < 0)
		return -1;
	return ic.ifc_len;
}

static void ifconf(int s)
{
	int need = ifconf_len(s, NULL, 0);
	expect("SIOCGIFCONF sizes whole entries", need > 0 && need % sizeof(struct ifreq) == 0);
	expect("SIOCGIFCONF ignores the length without a buffer", ifconf_len(s, NULL, -5) == need);
	struct ifreq *r = calloc(1, need + sizeof *r);
	expect("SIOCGIFCONF fills what it needs", ifconf_len(s, r, need) == need);
	int lo = 0;
	for (int i = 0; i < need / (int)sizeof *r; i++) {
		struct sockaddr_in *a = (struct sockaddr_in *)&r[i].ifr_addr;
		if (!strcmp(r[i].ifr_name, "lo") && a->sin_family == AF_INET &&
		    a->sin_addr.s_addr == htonl(INADDR_LOOPBACK))
			lo = 1;
	}
	expect("SIOCGIFCONF lists lo at 127.0.0.1", lo);
	expect("SIOCGIFCONF stops at what there is", ifconf_len(s, r, need + sizeof *r) == need);
	expect("SIOCGIFCONF with a huge length writes what there is", ifconf_len(s, r, INT_MAX) == need);
	expect("SIOCGIFCONF writes whole entries only", ifconf_len(s, r, sizeof *r - 1) == 0);
	expect("SIOCGIFCONF with room for one", ifconf_len(s, r, sizeof *r + 3) == sizeof *r);
	expect("SIOCGIFCONF with a negative length", ifconf_len(s, r, -1) == 0);
	expect("SIOCGIFCONF with INT_MIN", ifconf_len(s, r, INT_MIN) == 0);
	expect("SIOCGIFCONF, a bad buffer and no room", ifconf_len(s, BAD, 0) == 0);
	expect_err("SIOCGIFCONF into a bad buffer", ifconf_len(s, BAD, need), EFAULT);
	expect_err("SIOCGIFCONF of a bad struct", ioctl(s, SIOCGIFCONF, BAD), EFAULT);
	free(r);

	/* A buffer whose second entry falls on an unmapped page: the first is written. */
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(m + pg, pg);
	struct ifreq *edge = (struct ifreq *)(m + pg - sizeof *edge);
	if (need >= 2 * (int)sizeof *edge) {
		expect_err("SIOCGIFCONF across the end of a mapping", ifconf_len(s, edge, 2 * sizeof *edge), EFAULT);
		expect("SIOCGIFCONF wrote the entry before the end", edge->ifr_name[0] != 0);
	} else {
		expect("SIOCGIFCONF up to the end of a mapping", ifconf_len(s, edge, sizeof *edge) == sizeof *edge);
	}
	/* A read-only struct: read, but ifc_len cannot be written back. */
	struct ifconf *ro = (struct ifconf *)m;
	memset(ro, 0, sizeof *ro);
	mprotect(m, pg, PROT_READ);
	expect_err("SIOCGIFCONF of a read-only struct", ioctl(s, SIOCGIFCONF, ro), EFAULT);
	munmap(m, pg);
}

static void ifreqs(int s, int us)
{
	struct ifreq r;
	lo_req(&r);
	expect("SIOCGIFINDEX of lo", ioctl(s, SIOCGIFINDEX, &r) == 0 && r.ifr_ifindex == (int)if_nametoindex("lo"));
	int idx = r.ifr_ifindex;
	memset(&r, 0, sizeof r);
	r.ifr_ifindex = idx;
	expect("SIOCGIFNAME of lo's index", ioctl(s, SIOCGIFNAME, &r) == 0 && !strcmp(r.ifr_name, "lo"));
	char name[IF_NAMESIZE];
	expect("if_indextoname", if_indextoname(idx, name) && !strcmp(name, "lo"));
	memset(&r, 0, sizeof r);
	r.ifr_ifindex = 0x7fffffff;
	expect_err("SIOCGIFNAME of no index", ioctl(s, SIOCGIFNAME, &r), ENODEV);

	lo_req(&r);
	expect("SIOCGIFFLAGS of lo", ioctl(s, SIOCGIFFLAGS, &r) == 0 && (r.ifr_flags & (IFF_UP | IFF_LOOPBACK)) == (IFF_UP | IFF_LOOPBACK));
	short flags = r.ifr_flags;
	lo_req(&r);
	expect("SIOCGIFHWADDR of lo", ioctl(s, SIOCGIFHWADDR, &r) == 0 && r.ifr_hwaddr.sa_family == ARPHRD_LOOPBACK);
	lo_req(&r);
	expect("SIOCGIFMTU of lo", ioctl(s, SIOCGIFMTU, &r) == 0 && r.ifr_mtu > 0);
	int mtu = r.ifr_mtu;
	lo_req(&r);
	expect("SIOCGIFMTU on a Unix socket", ioctl(us, SIOCGIFMTU, &r) == 0 && r.ifr_mtu == mtu);
	lo_req(&r);
	expect("SIOCGIFTXQLEN of lo", ioctl(s, SIOCGIFTXQLEN, &r) == 0);
	lo_req(&r);
	expect("SIOCGIFMETRIC of lo", ioctl(s, SIOCGIFMETRIC, &r) == 0 && r.ifr_metric == 0);
	lo_req(&r);
	struct sockaddr_in *in = (struct sockaddr_in *)&r.ifr_addr;
	expect("SIOCGIFADDR of lo", ioctl(s, SIOCGIFADDR, &r) == 0 && in->sin_family == AF_INET &&
	       in->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	lo_req(&r);
	expect("SIOCGIFNETMASK of lo", ioctl(s, SIOCGIFNETMASK, &r) == 0 && in->sin_addr.s_addr == htonl(0xff000000));
	lo_req(&r);
	long e = ioctl(us, SIOCGIFADDR, &r);
	printf("SIOCGIFADDR on a Unix socket: %s\n", e < 0 ? errname(errno) : "success");

	memset(&r, 0, sizeof r);
	strcpy(r.ifr_name, "novemu0");
	expect_err("SIOCGIFFLAGS of no interface", ioctl(s, SIOCGIFFLAGS, &r), ENODEV);
	memset(&r, 'l', sizeof r);
	expect_err("SIOCGIFINDEX of a name without its NUL", ioctl(s, SIOCGIFINDEX, &r), ENODEV);

	expect_err("SIOCGIFFLAGS of a bad pointer", ioctl(s, SIOCGIFFLAGS, BAD), EFAULT);
	expect_err("SIOCSIFFLAGS of a bad pointer", ioctl(s, SIOCSIFFLAGS, BAD), EFAULT);
	expect_err("SIOCGIFINDEX of a bad pointer", ioctl(s, SIOCGIFINDEX, (void *)-1L), EFAULT);
	/* A struct ifreq that ends one byte into an unmapped page. */
	long pg = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(m + pg, pg);
	struct ifreq *edge = (struct ifreq *)(m + pg - sizeof r + 1);
	expect_err("SIOCGIFINDEX across the end of a mapping", ioctl(s, SIOCGIFINDEX, edge), EFAULT);
	/* Read-only: the request is read, the answer cannot be written. */
	lo_req((struct ifreq *)m);
	mprotect(m, pg, PROT_READ);
	expect_err("SIOCGIFINDEX into read-only memory", ioctl(s, SIOCGIFINDEX, m), EFAULT);
	munmap(m, pg);

	lo_req(&r);
	expect_err("SIOCGIFFLAGS on a bad descriptor", ioctl(-1, SIOCGIFFLAGS, &r), EBADF);
	expect_err("SIOCGIFFLAGS on a closed descriptor", ioctl(1000, SIOCGIFFLAGS, &r), EBADF);
	int p[2];
	pipe(p);
	expect_err("SIOCGIFFLAGS on a pipe", ioctl(p[0], SIOCGIFFLAGS, &r), ENOTTY);
	struct ifconf ic = { 0 };
	expect_err("SIOCGIFCONF on a pipe", ioctl(p[0], SIOCGIFCONF, &ic), ENOTTY);
	close(p[0]);
	close(p[1]);

	/* Setting lo's flags to what they are is refused to a process without privilege. */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (getuid() == 0 && setuid(65534) < 0)
			_exit(2);
		lo_req(&r);
		r.ifr_flags = flags;
		_exit(ioctl(s, SIOCSIFFLAGS, &r) < 0 && errno == EPERM ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	expect("SIOCSIFFLAGS unprivileged is EPERM", WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* A change of no interface: ENODEV with CAP_NET_ADMIN, which Linux checks first,
	 * else EPERM. A driver's own request (SIOCDEVPRIVATE+1 is SIOCADDTUNNEL) of no
	 * interface: ENODEV, with or without the capability, on a socket of any family; on
	 * a pipe it is ENOTTY. */
	memset(&r, 0, sizeof r);
	strcpy(r.ifr_name, "novemu0");
	CHECK("SIOCSIFFLAGS of no interface", ioctl(s, SIOCSIFFLAGS, &r));
	CHECK("SIOCSIFMTU of no interface", ioctl(s, SIOCSIFMTU, &r));
	CHECK("SIOCDEVPRIVATE+1 of no interface", ioctl(s, SIOCDEVPRIVATE + 1, &r));
	CHECK("SIOCWANDEV of no interface", ioctl(s, 0x894a /* SIOCWANDEV */, &r));
	CHECK("SIOCDEVPRIVATE+16 of no interface", ioctl(s, SIOCDEVPRIVATE + 16, &r));
	CHECK("SIOCDEVPRIVATE+1 of no interface, Unix socket", ioctl(us, SIOCDEVPRIVATE + 1, &r));
	expect_err("SIOCDEVPRIVATE of a bad pointer", ioctl(s, SIOCDEVPRIVATE, BAD), EFAULT);
	pipe(p);
	expect_err("SIOCDEVPRIVATE on a pipe", ioctl(p[0], SIOCDEVPRIVATE, &r), ENOTTY);
	close(p[0]);
	close(p[1]);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (getuid() == 0 && setuid(65534) < 0)
			_exit(2);
		if (ioctl(s, SIOCSIFFLAGS, &r) == 0 || errno != EPERM)
			_exit(1);
		_exit(ioctl(s, SIOCDEVPRIVATE + 1, &r) < 0 && errno == ENODEV ? 0 : 1);
	}
	waitpid(pid, &st, 0);
	expect("unprivileged: SIOCSIFFLAGS of no interface EPERM, SIOCDEVPRIVATE+1 ENODEV", WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void own(void)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	int v = getpid();
	expect("FIOSETOWN to the process", ioctl(sv[0], FIOSETOWN, &v) == 0);
	v = 0;
	expect("FIOGETOWN", ioctl(sv[0], FIOGETOWN, &v) == 0 && v == getpid());
	expect("F_GETOWN agrees", fcntl(sv[0], F_GETOWN) == getpid());
	v = -getpgrp();
	expect("SIOCSPGRP to the group", ioctl(sv[0], SIOCSPGRP, &v) == 0);
	v = 0;
	expect("SIOCGPGRP", ioctl(sv[0], SIOCGPGRP, &v) == 0 && v == -getpgrp());
	v = 0x3ffffff0;
	expect_err("FIOSETOWN to no process", ioctl(sv[0], FIOSETOWN, &v), ESRCH);
	v = INT_MIN;
	expect_err("FIOSETOWN to group -INT_MIN", ioctl(sv[0], FIOSETOWN, &v), EINVAL);
	expect_err("F_SETOWN to group -INT_MIN", fcntl(sv[0], F_SETOWN, INT_MIN), EINVAL);
	expect("a refused owner leaves the owner", fcntl(sv[0], F_GETOWN) == -getpgrp());
	expect_err("FIOSETOWN of a bad pointer", ioctl(sv[0], FIOSETOWN, BAD), EFAULT);
	expect_err("FIOGETOWN to a bad pointer", ioctl(sv[0], FIOGETOWN, BAD), EFAULT);

	write(sv[0], "abc", 3);
	int n = -1;
	expect("SIOCOUTQ of a Unix socket", ioctl(sv[0], SIOCOUTQ, &n) == 0);
	n = -1;
	expect("SIOCINQ of the peer", ioctl(sv[1], FIONREAD, &n) == 0 && n == 3);
	expect_err("SIOCOUTQ to a bad pointer", ioctl(sv[0], SIOCOUTQ, BAD), EFAULT);
	close(sv[0]);
	close(sv[1]);

	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	bind(u, (struct sockaddr *)&a, sizeof a);
	getsockname(u, (struct sockaddr *)&a, &al);
	struct timeval tv;
	expect_err("SIOCGSTAMP before a datagram", ioctl(u, SIOCGSTAMP, &tv), ENOENT);
	sendto(u, "x", 1, 0, (struct sockaddr *)&a, sizeof a);
	char c;
	recv(u, &c, 1, 0);
	expect("SIOCGSTAMP after one", ioctl(u, SIOCGSTAMP, &tv) == 0 && tv.tv_sec > 0);
	expect_err("SIOCGSTAMP to a bad pointer", ioctl(u, SIOCGSTAMP, BAD), EFAULT);
	close(u);

	int l = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = 0;
	bind(l, (struct sockaddr *)&a, sizeof a);
	al = sizeof a;
	getsockname(l, (struct sockaddr *)&a, &al);
	listen(l, 1);
	int cl = socket(AF_INET, SOCK_STREAM, 0);
	connect(cl, (struct sockaddr *)&a, sizeof a);
	int sv2 = accept(l, NULL, NULL);
	send(cl, "!", 1, MSG_OOB);
	struct pollfd pf = { .fd = sv2, .events = POLLPRI };
	expect("the urgent byte arrives", poll(&pf, 1, 10000) == 1);
	int mark = -1;
	expect("SIOCATMARK at the urgent byte", ioctl(sv2, SIOCATMARK, &mark) == 0 && mark == 1);
	close(cl);
	close(sv2);
	close(l);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	int us = socket(AF_UNIX, SOCK_DGRAM, 0);
	ifconf(s);
	ifreqs(s, us);
	own();
	return failures != 0;
}
