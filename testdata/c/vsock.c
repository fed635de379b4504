/* vsock: /dev/vsock tells a program the machine's context id
 * (IOCTL_VM_SOCKETS_GET_LOCAL_CID), which is how programs decide whether AF_VSOCK
 * works; the request is ENOTTY on other files and EFAULT on a bad pointer. Then an
 * AF_VSOCK socket: its buffer options, a bound address, and connecting to a context
 * that is not there. On a machine without vsock it says so, natively and under vemu. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

#define GET_LOCAL_CID 0x7b9
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

struct vm_addr {
	unsigned short family;
	unsigned short reserved;
	unsigned port;
	unsigned cid;
	unsigned char flags;
	unsigned char zero[3];
};

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, r);
}

int main(void)
{
	int null = open("/dev/null", O_RDONLY);
	uint32_t cid = 0;
	show("the request on /dev/null", ioctl(null, GET_LOCAL_CID, &cid));
	int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		printf("no /dev/vsock: %s\n", errname(errno));
		return 0;
	}
	show("local context id", ioctl(fd, GET_LOCAL_CID, &cid));
	printf("context id above 2: %s\n", cid > 2 ? "yes" : "no");
	show("into a bad pointer", ioctl(fd, GET_LOCAL_CID, (void *)8));
	show("another request", ioctl(fd, 0x7ba, &cid));
	show("a terminal's request", ioctl(fd, TCGETS, &cid));
	close(fd);

	int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		printf("AF_VSOCK socket: %s\n", errname(errno));
		return 0;
	}
	uint64_t size = 0;
	socklen_t len = sizeof size;
	show("buffer size", getsockopt(s, AF_VSOCK, 0 /* SO_VM_SOCKETS_BUFFER_SIZE */, &size, &len));
	printf("buffer size is %llu, %u bytes\n", (unsigned long long)size, len);
	size = 128 * 1024;
	show("set the buffer size", setsockopt(s, AF_VSOCK, 0, &size, sizeof size));
	len = sizeof size;
	getsockopt(s, AF_VSOCK, 0, &size, &len);
	printf("buffer size is now %llu\n", (unsigned long long)size);
	struct vm_addr a = {.family = AF_VSOCK, .port = 0xffffffff, .cid = 0xffffffff};
	show("bind to any", bind(s, (struct sockaddr *)&a, sizeof a));
	memset(&a, 0, sizeof a);
	len = sizeof a;
	show("getsockname", getsockname(s, (struct sockaddr *)&a, &len));
	printf("family %u, cid any %d, port assigned %d, length %u\n", a.family, a.cid == 0xffffffff,
	       a.port != 0xffffffff, len);
	close(s);
	s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct vm_addr to = {.family = AF_VSOCK, .port = 1234, .cid = cid};
	show("connect to a closed port of our own context", connect(s, (struct sockaddr *)&to, sizeof to));
	show("short address", connect(s, (struct sockaddr *)&to, 4));
	close(s);
	return 0;
}
