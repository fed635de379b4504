/* procfdlist: /proc/self/fd read a few entries at a time while the program closes what it
 * lists (as a close-all-but-some before exec does) still shows every descriptor once;
 * /proc/self/.. and /proc/.. are plain paths. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"

struct linux_dirent64 {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	enum { N = 40 };
	int opened[N];
	for (int i = 0; i < N; i++)
		opened[i] = open("/dev/null", O_RDONLY);
	int keep = opened[N / 2];
	int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char buf[200]; /* a handful of entries per call */
	int seen = 0, closed = 0, dots = 0;
	long n;
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (void *)(buf + off);
			off += d->d_reclen;
			if (d->d_name[0] == '.') {
				dots++;
				continue;
			}
			int fd = atoi(d->d_name);
			for (int i = 0; i < N; i++)
				if (opened[i] == fd) {
					seen++;
					if (fd != keep && close(fd) == 0)
						closed++;
				}
		}
	}
	expect("getdents64 ends at 0", n == 0);
	expect("\".\" and \"..\" once each", dots == 2);
	expect("every descriptor listed once while closing", seen == N);
	expect("all but the kept one closed", closed == N - 1 && fcntl(keep, F_GETFD) >= 0);
	printf("listed %d of %d, closed %d\n", seen, N, closed);

	/* Listing again from the start shows the kept one, and none of the closed ones. */
	lseek(dir, 0, SEEK_SET);
	int kept = 0, stale = 0;
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0)
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (void *)(buf + off);
			off += d->d_reclen;
			int fd = d->d_name[0] == '.' ? -1 : atoi(d->d_name);
			for (int i = 0; i < N; i++)
				if (opened[i] == fd)
					*(fd == keep ? &kept : &stale) += 1;
		}
	expect("after rewinding: the kept one, no closed one", kept == 1 && stale == 0);

	struct stat st;
	expect("stat /proc/self/..", stat("/proc/self/..", &st) == 0 && S_ISDIR(st.st_mode));
	expect("open /proc/..", open("/proc/..", O_RDONLY | O_DIRECTORY) >= 0);
	expect("open /proc/self/..", open("/proc/self/..", O_RDONLY | O_DIRECTORY) >= 0);
	return failures != 0;
}
