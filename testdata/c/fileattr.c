/* fileattr.c: file_getattr and file_setattr on a file in the working directory, with
 * their struct file_attr sizes and at-flags. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"

struct file_attr {
	uint64_t fa_xflags;
	uint32_t fa_extsize, fa_nextents, fa_projid, fa_cowextsize;
};

#define FS_XFLAG_NODUMP 0x80

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
	struct file_attr fa;
	memset(&fa, 0xff, sizeof fa);
	long r = syscall(468, AT_FDCWD, "f", &fa, sizeof fa, 0);
	show("file_getattr", r);
	if (r < 0 && errno == EOPNOTSUPP)
		return 0;
	printf("xflags %#llx extsize %u nextents %u projid %u\n", (unsigned long long)fa.fa_xflags,
	       fa.fa_extsize, fa.fa_nextents, fa.fa_projid);
	fa.fa_xflags |= FS_XFLAG_NODUMP;
	r = syscall(469, AT_FDCWD, "f", &fa, sizeof fa, 0);
	show("file_setattr nodump", r);
	if (r == 0) {
		struct file_attr g = {0};
		show("file_getattr through the link", syscall(468, AT_FDCWD, "l", &g, sizeof g, 0));
		printf("nodump: %s\n", g.fa_xflags & FS_XFLAG_NODUMP ? "yes" : "no");
		fa.fa_xflags &= ~(uint64_t)FS_XFLAG_NODUMP;
		show("file_setattr on fd", syscall(469, fd, "", &fa, sizeof fa, AT_EMPTY_PATH));
		show("file_getattr on fd", syscall(468, fd, NULL, &g, sizeof g, AT_EMPTY_PATH));
		printf("nodump: %s\n", g.fa_xflags & FS_XFLAG_NODUMP ? "yes" : "no");
	}
	uint64_t big[4] = {0, 0, 0, 7};
	show("file_getattr bigger struct", syscall(468, AT_FDCWD, "f", big, sizeof big, 0));
	printf("tail: %llu\n", (unsigned long long)big[3]);
	show("file_setattr nonzero tail", syscall(469, AT_FDCWD, "f", (uint64_t[4]){0, 0, 0, 1}, 32, 0));
	show("file_getattr bad at-flags", syscall(468, AT_FDCWD, "f", &fa, sizeof fa, 1));
	show("file_getattr short", syscall(468, AT_FDCWD, "f", &fa, 8, 0));
	show("file_getattr past a page", syscall(468, AT_FDCWD, "f", &fa, 8192, 0));
	show("file_getattr missing", syscall(468, AT_FDCWD, "nope", &fa, sizeof fa, 0));
	show("file_getattr bad fd", syscall(468, 99, "", &fa, sizeof fa, AT_EMPTY_PATH));
	show("file_getattr bad buffer", syscall(468, AT_FDCWD, "f", (void *)8, sizeof fa, 0));
	fa.fa_xflags = 1ull << 40;
	show("file_setattr unknown flag", syscall(469, AT_FDCWD, "f", &fa, sizeof fa, 0));
	return 0;
}
