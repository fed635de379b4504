/* xattrat.c: setxattrat, getxattrat, listxattrat and removexattrat, with their
 * struct xattr_args and at-flags, on a file in the working directory. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

struct xattr_args {
	uint64_t value;
	uint32_t size;
	uint32_t flags;
};

static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, r);
}

int main(int argc, char **argv)
{
	if (argc < 2 || chdir(argv[1]) != 0)
		return 2;
	int fd = open("f", O_CREAT | O_RDWR, 0644);
	symlink("f", "l");
	char val[64] = "abc", out[64];
	struct xattr_args a = {(uintptr_t)val, 3, 0};
	long r = syscall(463, AT_FDCWD, "f", 0, "user.one", &a, sizeof a);
	if (r < 0 && errno == EOPNOTSUPP) {
		printf("no user xattrs here\n");
		return 0;
	}
	show("setxattrat", r);
	a.flags = 1; /* XATTR_CREATE */
	show("setxattrat create existing", syscall(463, AT_FDCWD, "f", 0, "user.one", &a, sizeof a));
	a.flags = 0;
	val[0] = 'x';
	show("setxattrat through the link", syscall(463, AT_FDCWD, "l", 0, "user.two", &a, sizeof a));
	show("setxattrat on the link itself", syscall(463, AT_FDCWD, "l", AT_SYMLINK_NOFOLLOW, "user.two", &a, sizeof a));
	show("setxattrat empty path on fd", syscall(463, fd, "", AT_EMPTY_PATH, "user.three", &a, sizeof a));
	show("setxattrat bad at-flags", syscall(463, AT_FDCWD, "f", 1, "user.one", &a, sizeof a));
	show("setxattrat short args", syscall(463, AT_FDCWD, "f", 0, "user.one", &a, 8));
	show("setxattrat args past a page", syscall(463, AT_FDCWD, "f", 0, "user.one", &a, 8192));
	uint64_t big[3] = {(uintptr_t)val, 3, 1};
	show("setxattrat args with a tail", syscall(463, AT_FDCWD, "f", 0, "user.one", big, sizeof big));
	big[2] = 0;
	show("setxattrat args with a zero tail", syscall(463, AT_FDCWD, "f", 0, "user.four", big, sizeof big));
	show("setxattrat empty path without the flag", syscall(463, fd, "", 0, "user.one", &a, sizeof a));
	show("setxattrat no such file", syscall(463, AT_FDCWD, "nope", 0, "user.one", &a, sizeof a));

	struct xattr_args g = {(uintptr_t)out, sizeof out, 0};
	memset(out, 0, sizeof out);
	r = syscall(464, AT_FDCWD, "f", 0, "user.one", &g, sizeof g);
	show("getxattrat", r);
	printf("value: %.*s\n", r > 0 ? (int)r : 0, out);
	r = syscall(464, AT_FDCWD, "l", 0, "user.two", &g, sizeof g);
	printf("getxattrat through the link: %ld %.*s\n", r, r > 0 ? (int)r : 0, out);
	g.size = 0;
	show("getxattrat size query", syscall(464, fd, NULL, AT_EMPTY_PATH, "user.three", &g, sizeof g));
	g.size = 1;
	show("getxattrat too small", syscall(464, AT_FDCWD, "f", 0, "user.one", &g, sizeof g));
	g.size = sizeof out;
	g.flags = 1;
	show("getxattrat flags", syscall(464, AT_FDCWD, "f", 0, "user.one", &g, sizeof g));
	g.flags = 0;
	show("getxattrat missing", syscall(464, AT_FDCWD, "f", 0, "user.none", &g, sizeof g));

	char list[256];
	r = syscall(465, AT_FDCWD, "f", 0, list, sizeof list);
	show("listxattrat", r);
	int n = 0;
	for (long i = 0; i < r; i += strlen(list + i) + 1)
		n += strncmp(list + i, "user.", 5) == 0;
	printf("user names: %d\n", n);
	show("listxattrat size query", syscall(465, fd, "", AT_EMPTY_PATH, NULL, 0));
	show("listxattrat bad at-flags", syscall(465, AT_FDCWD, "f", 0x200, list, sizeof list));

	show("removexattrat", syscall(466, AT_FDCWD, "f", 0, "user.one"));
	show("removexattrat again", syscall(466, AT_FDCWD, "f", 0, "user.one"));
	show("removexattrat on fd", syscall(466, fd, "", AT_EMPTY_PATH, "user.three"));
	show("removexattrat bad fd", syscall(466, 99, "", AT_EMPTY_PATH, "user.two"));
	return 0;
}
